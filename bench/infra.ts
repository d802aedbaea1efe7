// The processes a benchmark run owns: a redis-server and an s3rver (in this process) on
// free loopback ports, the gateway as a real `node dist/src/server.js` process, and the
// floor servers. Everything listens on 127.0.0.1; every wait is bounded.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import { createSigner } from 'fast-jwt'
import S3rver from 's3rver'

export const MiB = 1024 * 1024
export const LOOPBACK = '127.0.0.1'
/** Repository root: this file runs as dist/bench/infra.js. */
export const ROOT = join(import.meta.dirname, '..', '..')

/** An integer setting from the environment (BENCH_*), `fallback` when unset. */
export function intSetting (name: string, fallback: number, min: number, max: number): number {
  const raw = process.env[name]?.trim() ?? ''
  const value = raw === '' ? fallback : Number(raw)
  if (!Number.isInteger(value) || value < min || value > max) throw new Error(`${name} must be an integer from ${min} to ${max} (got ${JSON.stringify(raw)})`)
  return value
}

export async function freePort (): Promise<number> {
  const server = createServer().listen(0, LOOPBACK)
  await once(server, 'listening')
  const { port } = server.address() as { port: number }
  await new Promise((resolve) => server.close(resolve))
  return port
}

export async function withTimeout<T> (promise: Promise<T>, ms: number, what: string): Promise<T> {
  const timeout = AbortSignal.timeout(ms)
  return await Promise.race([
    promise,
    new Promise<never>((_resolve, reject) => {
      timeout.addEventListener('abort', () => { reject(new Error(`${what}: no answer after ${ms} ms`)) }, { once: true })
    })
  ])
}

/** A child process whose last output is kept for error messages and whose exit is awaitable. */
export class Child {
  readonly proc: ChildProcess
  readonly exited: Promise<void>
  #output = ''
  #listeners = new Set<() => void>()

  constructor (command: string, args: string[], env: NodeJS.ProcessEnv, cwd = ROOT) {
    this.proc = spawn(command, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] })
    this.exited = new Promise((resolve) => this.proc.once('exit', () => { resolve() }))
    this.proc.once('error', (err) => { this.#append(`spawn error: ${err.message}\n`) })
    const onData = (chunk: Buffer): void => { this.#append(chunk.toString('utf8')) }
    this.proc.stdout?.on('data', onData)
    this.proc.stderr?.on('data', onData)
  }

  get pid (): number {
    if (this.proc.pid === undefined) throw new Error(`no pid: ${this.output}`)
    return this.proc.pid
  }

  get running (): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null
  }

  get output (): string {
    return this.#output
  }

  #append (text: string): void {
    this.#output = (this.#output + text).slice(-8192)
    for (const listener of this.#listeners) listener()
  }

  /** Resolves with the first output match; rejects on exit or after `ms`. */
  async waitFor (pattern: RegExp, ms: number, what: string): Promise<RegExpMatchArray> {
    let onChange: () => void = () => {}
    const found = new Promise<RegExpMatchArray>((resolve, reject) => {
      onChange = () => {
        const match = pattern.exec(this.#output)
        if (match !== null) resolve(match)
        else if (!this.running) reject(new Error(`${what} exited before it was ready:\n${this.#output}`))
      }
      this.#listeners.add(onChange)
      this.exited.then(onChange, () => {})
      onChange()
    })
    try {
      return await withTimeout(found, ms, `${what} readiness`)
    } finally {
      this.#listeners.delete(onChange)
    }
  }

  async stop (): Promise<void> {
    if (this.running) this.proc.kill('SIGTERM')
    try {
      await withTimeout(this.exited, 15_000, 'exit after SIGTERM')
    } catch {
      this.proc.kill('SIGKILL')
      await withTimeout(this.exited, 5000, 'exit after SIGKILL')
    }
  }
}

// /proc/<pid>/stat counts CPU time in clock ticks.
const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100
  } catch {
    return 100
  }
})()

/** User + system CPU seconds a process has used so far (Linux). */
export async function cpuSeconds (pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8')
  // Fields after "pid (comm) ": state is field 3, utime 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS
}

/** A field of /proc/<pid>/status in KiB (VmHWM: peak resident set, VmRSS: current). */
export async function procStatusKiB (pid: number, field: 'VmHWM' | 'VmRSS'): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8')
  const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(status)
  if (match === null) throw new Error(`no ${field} in /proc/${pid}/status`)
  return Number(match[1])
}

/**
 * Waits (at most `ms`) for a just-started process to settle: V8's memory reducer runs some
 * seconds after start-up has stopped allocating and gives back the start-up garbage and
 * the young generation grown while loading modules. Settled: RSS has fallen by a tenth or
 * more and stopped falling (readings a second apart). Then resets VmHWM to the current
 * RSS (Linux clear_refs 5), so that the next VmHWM is the peak of what follows alone.
 * Returns that RSS (KiB).
 */
export async function settle (pid: number, ms: number): Promise<number> {
  const start = await procStatusKiB(pid, 'VmRSS')
  let last = start
  for (let waited = 0; waited < ms; waited += 1000) {
    await delay(1000)
    const rss = await procStatusKiB(pid, 'VmRSS')
    if (rss < start * 0.9 && rss >= last) break
    last = rss
  }
  await writeFile(`/proc/${pid}/clear_refs`, '5')
  return await procStatusKiB(pid, 'VmHWM')
}

export interface BenchRedis { url: string, child: Child, version: string, stop: () => Promise<void> }

export async function startRedis (dir: string): Promise<BenchRedis> {
  await mkdir(dir, { recursive: true })
  for (let attempt = 1; attempt <= 5; attempt++) {
    const port = await freePort()
    const child = new Child('redis-server', [
      '--port', String(port), '--bind', LOOPBACK, '--save', '', '--appendonly', 'no',
      '--dir', dir, '--daemonize', 'no', '--logfile', '', '--protected-mode', 'no'
    ], { PATH: process.env.PATH ?? '' }, dir)
    try {
      await child.waitFor(/Ready to accept connections/, 10_000, 'redis-server')
      const version = /Redis version=([0-9.]+)/.exec(child.output)?.[1] ?? /v=([0-9.]+)/.exec(child.output)?.[1] ?? '?'
      return { url: `redis://${LOOPBACK}:${port}`, child, version, stop: async () => { await child.stop() } }
    } catch (err) {
      await child.stop()
      // The probed port can be taken before redis binds it: try another one.
      if (!/Address already in use/i.test(child.output) || attempt === 5) throw err
    }
  }
  throw new Error('unreachable')
}

export interface BenchS3 {
  endpoint: string
  bucket: string
  region: string
  credentials: { accessKeyId: string, secretAccessKey: string }
  stop: () => Promise<void>
}

/** s3rver in this process, on a free port, storing under `dir`. */
export async function startS3 (dir: string): Promise<BenchS3> {
  const bucket = 'linkgate-bench'
  await mkdir(dir, { recursive: true })
  const server = new S3rver({ address: LOOPBACK, port: 0, silent: true, directory: dir, vhostBuckets: false, configureBuckets: [{ name: bucket }] })
  const address = await server.run()
  return {
    endpoint: `http://${LOOPBACK}:${address.port}`,
    bucket,
    region: 'us-east-1',
    // s3rver's only built-in account.
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    stop: async () => {
      const closed = server.close()
      server.httpServer?.closeAllConnections()
      await closed
    }
  }
}

/** Seconds an S3 request may stay silent, for the gateway and the bench's own client (see Gateway.start). */
export const S3_IDLE_TIMEOUT_S = 120

export const JWT_SECRET = 'linkgate-bench-secret-0123456789abcdef'
/** A bearer token of the benchmark's user (`bench`), valid a day. */
export const AUTHORIZATION = `Bearer ${createSigner({ key: JWT_SECRET, expiresIn: 24 * 3600 * 1000 })({ sub: 'bench' })}`

export interface BenchStores { tmp: string, redis: BenchRedis, s3: BenchS3 }

/**
 * A temporary directory (`<tmpdir>/<prefix>…`) with a redis-server and an s3rver keeping
 * their data in it; `onStop` is handed what undoes each, in the order they were made.
 */
export async function startStores (prefix: string, onStop: (stop: () => Promise<void>) => void): Promise<BenchStores> {
  const tmp = await mkdtemp(join(tmpdir(), prefix))
  onStop(async () => { await rm(tmp, { recursive: true, force: true }) })
  const redis = await startRedis(join(tmp, 'redis'))
  onStop(() => redis.stop())
  const s3 = await startS3(join(tmp, 's3'))
  onStop(() => s3.stop())
  return { tmp, redis, s3 }
}

export interface GatewayEnv {
  redisUrl: string
  s3: BenchS3
  auditLog: string
  /** Node options before the script, e.g. --cpu-prof --cpu-prof-dir=/tmp/prof. */
  nodeArgs: string[]
  /** Variables set last, over the gateway's own (LOG_LEVEL=info, MALLOC_ARENA_MAX=1, …). */
  extraEnv?: Record<string, string>
  /** The checkout whose dist/src/server.js runs; this one by default (bench/ab.ts sets another). */
  root?: string
}

/** The gateway as a real process: `node dist/src/server.js`. */
export class Gateway {
  readonly child: Child
  readonly base: string

  private constructor (child: Child, base: string) {
    this.child = child
    this.base = base
  }

  static async start ({ redisUrl, s3, auditLog, nodeArgs, extraEnv = {}, root = ROOT }: GatewayEnv): Promise<Gateway> {
    const port = await freePort()
    const base = `http://${LOOPBACK}:${port}`
    const child = new Child(process.execPath, [...nodeArgs, join(root, 'dist', 'src', 'server.js')], {
      // Only what the gateway needs: no AWS_PROFILE or other ambient configuration.
      PATH: process.env.PATH ?? '',
      HOST: LOOPBACK,
      PORT: String(port),
      PUBLIC_URL: base,
      LOG_LEVEL: 'warn',
      REDIS_URL: redisUrl,
      REDIS_KEY_PREFIX: 'lgbench:',
      S3_BUCKET: s3.bucket,
      S3_ENDPOINT: s3.endpoint,
      S3_REGION: s3.region,
      S3_FORCE_PATH_STYLE: 'true',
      S3_CHECKSUMS: 'WHEN_REQUIRED',
      AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
      AWS_EC2_METADATA_DISABLED: 'true',
      JWT_SECRET,
      AUDIT_LOG: auditLog,
      // The limiters still count every request (a Redis round trip each) but never refuse.
      REDEEM_RATE_LIMIT: '1000000000',
      REDEEM_MISS_LIMIT: '1000000000',
      UPLOAD_RATE_LIMIT: '1000000000',
      API_RATE_LIMIT: '1000000000',
      SHUTDOWN_GRACE: '1',
      // s3rver joins a multipart upload without sending anything meanwhile (AWS S3 sends
      // whitespace): 1 GiB took 10.5 s here, past the default of 10.
      S3_IDLE_TIMEOUT: String(S3_IDLE_TIMEOUT_S),
      ...extraEnv
    })
    const gateway = new Gateway(child, base)
    try {
      // With LOG_LEVEL=warn there is no "Server listening" line: poll /healthz (bounded).
      for (let attempt = 0; ; attempt++) {
        if (!child.running) throw new Error(`the gateway exited during start:\n${child.output}`)
        const ok = await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(1000) }).then((r) => r.ok, () => false)
        if (ok) break
        if (attempt >= 300) throw new Error(`the gateway did not answer /healthz within 15 s:\n${child.output}`)
        await delay(50)
      }
    } catch (err) {
      await child.stop()
      throw err
    }
    return gateway
  }

  get pid (): number {
    return this.child.pid
  }

  async stop (): Promise<void> {
    await this.child.stop()
  }
}

export interface SeededLink {
  link: { id: string, token: string, maxDownloads: number | null, access: string }
  /** The link's share URL on the gateway. */
  url: string
  /** Where the gateway redirects it (a presigned URL). */
  location: string
}

/** Uploads a small file with a public unlimited link (as `authorization`'s user) and checks that the link redirects. */
export async function seedLink (gateway: Gateway, authorization: string): Promise<SeededLink> {
  const seeded = await fetch(`${gateway.base}/v1/files?filename=hello.txt&share=true`, {
    method: 'POST', headers: { authorization, 'content-type': 'text/plain' }, body: 'hello from the benchmark\n', signal: AbortSignal.timeout(10_000)
  })
  if (seeded.status !== 201) throw new Error(`seeding a link: ${seeded.status} ${await seeded.text()}`)
  const { link } = await seeded.json() as { link: SeededLink['link'] }
  const url = `${gateway.base}/s/${link.token}`
  const probe = await fetch(url, { redirect: 'manual', signal: AbortSignal.timeout(10_000) })
  const location = probe.headers.get('location')
  if (probe.status !== 302 || location === null) throw new Error(`GET /s/:token answered ${probe.status}, not a 302 with a Location`)
  return { link, url, location }
}

/** A floor server (dist/bench/floor.js) on a port of its choosing, which it prints. */
export async function startFloor (mode: 'static' | 'redis', redisUrl: string, location: string): Promise<{ child: Child, base: string }> {
  const child = new Child(process.execPath, [join(ROOT, 'dist', 'bench', 'floor.js')], {
    PATH: process.env.PATH ?? '',
    FLOOR_MODE: mode,
    FLOOR_LOCATION: location,
    REDIS_URL: redisUrl
  })
  const [, port] = await child.waitFor(/^listening (\d+)$/m, 15_000, `floor (${mode})`)
  return { child, base: `http://${LOOPBACK}:${port}` }
}
