import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { freeClusterPort, freePort } from './ports.js'
import type { Teardown } from './teardown.js'
import { poll } from './wait.js'

export interface TestRedis {
  url: string
  keyPrefix: string
  stop(): Promise<void>
}

export interface RestartableRedis {
  url: string
  port: number
  stop(): Promise<void>
  start(): Promise<void>
}

export interface TestRedisCluster {
  nodes: Array<{ host: string, port: number }>
  stop(): Promise<void>
}

export interface TestRedisSentinel {
  sentinels: Array<{ host: string, port: number }>
  /** The master's name in the sentinel's configuration. */
  name: string
  stop(): Promise<void>
}

const READY = 'Ready to accept connections'
const BIND_ATTEMPTS = 5

// Per-call prefix so test files sharing one external REDIS_URL never see each other's keys.
function newKeyPrefix (): string {
  return `lgtest:${randomBytes(4).toString('hex')}:`
}

class PortInUseError extends Error {}

interface RunningRedis {
  proc: ChildProcess
  exited: Promise<void>
}

interface SpawnOptions {
  /** A config file, first on the command line (a sentinel needs one it can rewrite). */
  configFile?: string
  /** More arguments, after the common ones. */
  args?: string[]
  /** The log line that says the server is ready. */
  ready?: string
}

// The single place a redis-server is spawned; resolves once it logs readiness, so callers never sleep or poll.
function spawnRedis (port: number, dir: string, options: SpawnOptions = {}): Promise<RunningRedis> {
  const readyLine = options.ready ?? READY
  return new Promise((resolve, reject) => {
    const proc = spawn('redis-server', [
      ...(options.configFile === undefined ? [] : [options.configFile]),
      '--port', String(port),
      '--bind', '127.0.0.1',
      '--save', '',
      '--appendonly', 'no',
      '--dir', dir,
      '--daemonize', 'no',
      '--logfile', '',
      '--loglevel', 'notice',
      // A developer's redis.conf defaults must not leak in, and no protected-mode surprises on loopback.
      '--protected-mode', 'no',
      ...(options.args ?? [])
    ], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] })

    // A test process that dies without its teardown (a tap timeout) must not leave its
    // redis-server behind: kill it when this process exits, whatever the reason.
    const killOnExit = (): void => { proc.kill('SIGKILL') }
    process.once('exit', killOnExit)
    // Registered before anything else so a fast exit can never be missed by stop().
    const exited = new Promise<void>((resolve) => proc.once('exit', () => { process.off('exit', killOnExit); resolve() }))
    let output = ''
    let ready = false

    const onData = (chunk: Buffer): void => {
      if (ready) return // keep draining so redis never blocks on a full pipe
      output += chunk.toString('utf8')
      if (output.includes(readyLine)) {
        ready = true
        proc.off('exit', onExit)
        resolve({ proc, exited })
      }
    }
    const onExit = (code: number | null, signal: NodeJS.Signals | null): void => {
      if (ready) return
      const detail = `redis-server on port ${port} exited (code ${code}, signal ${signal}) before it was ready:\n${output}`
      reject(/Address already in use/i.test(output) ? new PortInUseError(detail) : new Error(detail))
    }

    proc.stdout?.on('data', onData)
    proc.stderr?.on('data', onData)
    proc.once('exit', onExit)
    proc.once('error', (err: NodeJS.ErrnoException) => {
      if (ready) return
      if (err.code === 'ENOENT') {
        reject(new Error(
          'redis-server was not found on PATH: install it (apt-get install redis-server) ' +
          'or set REDIS_URL to point the tests at an existing Redis'
        ))
      } else {
        reject(err)
      }
    })
  })
}

async function stopRedis (running: RunningRedis | undefined): Promise<void> {
  if (running === undefined) return
  const { proc, exited } = running
  if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM')
  await exited
}

// Owns one redis-server bound to a fixed port across stop/start cycles.
class RedisProcess {
  port: number
  private readonly dir: string
  private readonly options: SpawnOptions
  private running: RunningRedis | undefined

  constructor (port: number, dir: string, options: SpawnOptions = {}) {
    this.port = port
    this.dir = dir
    this.options = options
  }

  get url (): string {
    return `redis://127.0.0.1:${this.port}`
  }

  async start (): Promise<void> {
    if (this.running !== undefined) return
    this.running = await spawnRedis(this.port, this.dir, this.options)
  }

  // freePort() closes its probe before redis binds, so another process can grab the port in between; pick another.
  async startOnFreePort (pick: () => Promise<number> = freePort): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      this.port = await pick()
      try {
        await this.start()
        return
      } catch (err) {
        if (!(err instanceof PortInUseError) || attempt >= BIND_ATTEMPTS) throw err
      }
    }
  }

  async stop (): Promise<void> {
    const running = this.running
    this.running = undefined
    await stopRedis(running)
  }

  async destroy (): Promise<void> {
    await this.stop()
    await rm(this.dir, { recursive: true, force: true })
  }
}

async function launch (t: Teardown, options: SpawnOptions & { sentinelConfig?: string } = {}, pick?: () => Promise<number>): Promise<RedisProcess> {
  const dir = await mkdtemp(join(tmpdir(), 'linkgate-redis-'))
  const { sentinelConfig, ...spawnOptions } = options
  if (sentinelConfig !== undefined) {
    spawnOptions.configFile = join(dir, 'sentinel.conf')
    await writeFile(spawnOptions.configFile, sentinelConfig)
  }
  const redis = new RedisProcess(0, dir, spawnOptions)
  try {
    await redis.startOnFreePort(pick)
  } catch (err) {
    await redis.destroy()
    throw err
  }
  t.teardown(() => redis.destroy())
  return redis
}

export async function startRedis (t: Teardown): Promise<TestRedis> {
  const keyPrefix = newKeyPrefix()
  const external = process.env.REDIS_URL
  if (external !== undefined && external !== '') {
    return { url: external, keyPrefix, stop: async () => {} }
  }
  const redis = await launch(t)
  return { url: redis.url, keyPrefix, stop: () => redis.destroy() }
}

// Always a private server, even with REDIS_URL set: outage tests kill it, which must not hit a shared instance.
export async function restartableRedis (t: Teardown): Promise<RestartableRedis> {
  const redis = await launch(t)
  return {
    url: redis.url,
    port: redis.port,
    stop: () => redis.stop(),
    start: () => redis.start()
  }
}

const execFileAsync = promisify(execFile)
const CLUSTER_READY_MS = 15_000

async function redisCli (...args: string[]): Promise<string> {
  const { stdout } = await execFileAsync('redis-cli', args, { timeout: 30_000 })
  return stdout
}

/**
 * Always private: three masters (`--cluster-enabled yes`) joined by `redis-cli --cluster
 * create`, each with a third of the slots and no replica. Resolves once every node says
 * cluster_state:ok (polled: the nodes announce no event for it).
 */
export async function startRedisCluster (t: Teardown): Promise<TestRedisCluster> {
  const nodes: RedisProcess[] = []
  for (let i = 0; i < 3; i++) {
    nodes.push(await launch(t, { args: ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf'] }, freeClusterPort))
  }
  const addresses = nodes.map((n) => `127.0.0.1:${n.port}`)
  await redisCli('--cluster', 'create', ...addresses, '--cluster-replicas', '0', '--cluster-yes')
  const ok = (infos: string[]): boolean => infos.every((info) => info.includes('cluster_state:ok'))
  const infos = await poll(async () => await Promise.all(nodes.map(async (n) => await redisCli('-p', String(n.port), 'cluster', 'info'))), ok, { timeoutMs: CLUSTER_READY_MS, intervalMs: 100 })
  if (!ok(infos)) throw new Error(`the test cluster (${addresses.join(', ')}) is not ok after ${CLUSTER_READY_MS} ms`)
  // Each node is registered on teardown by launch(); stop() is for a test that wants it earlier.
  return { nodes: nodes.map((n) => ({ host: '127.0.0.1', port: n.port })), stop: async () => { await Promise.all(nodes.map(async (n) => await n.destroy())) } }
}

/** Always private: one sentinel (`redis-server --sentinel`) watching the master at `masterPort`, quorum 1. */
export async function startRedisSentinel (t: Teardown, masterPort: number, name = 'linkgate'): Promise<TestRedisSentinel> {
  const sentinel = await launch(t, {
    sentinelConfig: `sentinel monitor ${name} 127.0.0.1 ${masterPort} 1\n`,
    args: ['--sentinel'],
    ready: `+monitor master ${name} `
  })
  return { sentinels: [{ host: '127.0.0.1', port: sentinel.port }], name, stop: () => sentinel.destroy() }
}
