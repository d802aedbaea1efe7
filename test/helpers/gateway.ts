// The compiled server (dist/src/server.js, as `npm start` runs it; npm test builds it
// first, see "pretest") as a real process, for the tests that need one. Every test that
// runs the server goes through spawnServer().
import { spawn, type ChildProcessByStdio } from 'node:child_process'
import { join } from 'node:path'
import type { Readable } from 'node:stream'
import { createSigner } from 'fast-jwt'
import { TEST_JWT_SECRET } from './app.js'
import { ROOT } from './root.js'
import type { Teardown } from './teardown.js'
import { TimeoutError, withTimeout } from './wait.js'

const signer = createSigner({ key: TEST_JWT_SECRET, expiresIn: 3_600_000 })

/** `Bearer <JWT>` for `sub`, valid an hour, as a gateway started by startGateway() accepts it. */
export function bearer (sub: string): string {
  return `Bearer ${signer({ sub }) as string}`
}

const SERVER_ENTRY = join(ROOT, 'dist', 'src', 'server.js')
const STARTUP_MS = 30_000
/** How long a server stopped at teardown gets for its own shutdown before SIGKILL. */
const STOP_MS = 5000

/** The environment that points a gateway at a test s3rver. */
export function s3Env (s3: { bucket: string, endpoint: string, region: string, accessKeyId: string, secretAccessKey: string }): Record<string, string> {
  return {
    S3_BUCKET: s3.bucket,
    S3_ENDPOINT: s3.endpoint,
    S3_REGION: s3.region,
    S3_FORCE_PATH_STYLE: 'true',
    AWS_ACCESS_KEY_ID: s3.accessKeyId,
    AWS_SECRET_ACCESS_KEY: s3.secretAccessKey
  }
}

export interface ServerProcess {
  child: ChildProcessByStdio<null, Readable, Readable>
  /** Everything the process wrote so far, stdout and stderr as they came, for failure messages. */
  output: () => string
  stdout: () => string
  stderr: () => string
  /** Settles once the process has exited and both its pipes are drained. */
  exited: Promise<{ code: number | null, signal: NodeJS.Signals | null }>
}

export interface Gateway extends ServerProcess {
  base: string
}

/**
 * Spawns the server with only `env` and PATH (the machine's own environment cannot leak
 * in), drains its pipes for its whole life (a full pipe would block it), and stops it on
 * teardown: SIGTERM, SIGKILL after 5 s; SIGKILL too if this process exits first.
 */
export function spawnServer (t: Teardown, env: Record<string, string>): ServerProcess {
  const child = spawn(process.execPath, [SERVER_ENTRY], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  const killOnExit = (): void => { child.kill('SIGKILL') }
  process.once('exit', killOnExit)
  const exited = new Promise<{ code: number | null, signal: NodeJS.Signals | null }>((resolve) => {
    child.once('close', (code: number | null, signal: NodeJS.Signals | null) => {
      process.off('exit', killOnExit)
      resolve({ code, signal })
    })
  })
  t.teardown(async () => {
    let killer: NodeJS.Timeout | undefined
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM')
      killer = setTimeout(() => child.kill('SIGKILL'), STOP_MS)
    }
    await exited
    clearTimeout(killer)
  })

  let output = ''
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (text: string) => { stdout += text; output += text })
  child.stderr.setEncoding('utf8').on('data', (text: string) => { stderr += text; output += text })
  return { child, output: () => output, stdout: () => stdout, stderr: () => stderr, exited }
}

/**
 * Resolves with the first whole line the process wrote (stdout, then stderr) that matches
 * `pattern`, at once if it already has; rejects if it exits without writing one.
 */
export async function outputLine (server: ServerProcess, pattern: RegExp): Promise<string> {
  const { child } = server
  return await new Promise<string>((resolve, reject) => {
    const check = (): void => {
      // Whole lines only: a chunk may end in the middle of one.
      const line = [server.stdout(), server.stderr()].flatMap((text) => text.split('\n').slice(0, -1)).find((l) => pattern.test(l))
      if (line === undefined) return
      stop()
      resolve(line)
    }
    const stop = (): void => {
      child.stdout.off('data', check)
      child.stderr.off('data', check)
    }
    // Registered after spawnServer's own listeners, so output() already has the chunk.
    child.stdout.on('data', check)
    child.stderr.on('data', check)
    check()
    // Once both pipes are drained: the whole output has been seen (a no-op if resolved).
    server.exited.then(() => {
      stop()
      reject(new Error(`the server exited without writing ${String(pattern)}:\n${server.output()}`))
    }, reject)
  })
}

const LISTENING = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/

/** Resolves with the server's base URL once it logs "Server listening" (within 30 s). */
export async function listening (server: ServerProcess): Promise<string> {
  const line = await withTimeout('the server to listen', outputLine(server, LISTENING), STARTUP_MS)
    .catch((err: unknown) => { throw err instanceof TimeoutError ? new Error(`${err.message}:\n${server.output()}`) : err })
  return LISTENING.exec(line)?.[1] ?? ''
}

/**
 * The gateway as a test wants it: on a port of its own choosing (PORT=0, so no other
 * process can take it in between), JWT_SECRET the tests sign with, logging at info; it
 * resolves once the server listens, and stops it on teardown.
 */
export async function startGateway (t: Teardown, env: Record<string, string>): Promise<Gateway> {
  const server = spawnServer(t, { HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info', SHUTDOWN_GRACE: '1', AWS_EC2_METADATA_DISABLED: 'true', JWT_SECRET: TEST_JWT_SECRET, ...env })
  return { ...server, base: await listening(server) }
}
