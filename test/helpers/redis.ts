import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

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

interface Teardown { teardown(fn: () => unknown): void }

const READY = 'Ready to accept connections'
const BIND_ATTEMPTS = 5

// Per-call prefix so test files sharing one external REDIS_URL never see each other's keys.
function newKeyPrefix (): string {
  return `lgtest:${randomBytes(4).toString('hex')}:`
}

function freePort (): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.unref()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address()
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0
      srv.close(() => port > 0 ? resolve(port) : reject(new Error('could not determine a free port')))
    })
  })
}

class PortInUseError extends Error {}

interface RunningRedis {
  proc: ChildProcess
  exited: Promise<void>
}

// The single place a redis-server is spawned; resolves once it logs readiness, so callers never sleep or poll.
function spawnRedis (port: number, dir: string): Promise<RunningRedis> {
  return new Promise((resolve, reject) => {
    const proc = spawn('redis-server', [
      '--port', String(port),
      '--bind', '127.0.0.1',
      '--save', '',
      '--appendonly', 'no',
      '--dir', dir,
      '--daemonize', 'no',
      '--logfile', '',
      '--loglevel', 'notice',
      // A developer's redis.conf defaults must not leak in, and no protected-mode surprises on loopback.
      '--protected-mode', 'no'
    ], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] })

    // Registered before anything else so a fast exit can never be missed by stop().
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()))
    let output = ''
    let ready = false

    const onData = (chunk: Buffer): void => {
      if (ready) return // keep draining so redis never blocks on a full pipe
      output += chunk.toString('utf8')
      if (output.includes(READY)) {
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
  private running: RunningRedis | undefined

  constructor (port: number, dir: string) {
    this.port = port
    this.dir = dir
  }

  get url (): string {
    return `redis://127.0.0.1:${this.port}`
  }

  async start (): Promise<void> {
    if (this.running !== undefined) return
    this.running = await spawnRedis(this.port, this.dir)
  }

  // freePort() closes its probe before redis binds, so another process can grab the port in between; pick another.
  async startOnFreePort (): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      this.port = await freePort()
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

async function launch (t: Teardown): Promise<RedisProcess> {
  const dir = await mkdtemp(join(tmpdir(), 'linkgate-redis-'))
  const redis = new RedisProcess(0, dir)
  try {
    await redis.startOnFreePort()
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
