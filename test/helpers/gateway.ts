// The compiled server (dist/src/server.js, as `npm start` runs it; npm test builds it
// first, see "pretest") as a real process, for the tests that need one.
import { spawn, type ChildProcessByStdio } from 'node:child_process'
import { once } from 'node:events'
import { createServer } from 'node:net'
import { join } from 'node:path'
import type { Readable } from 'node:stream'
import { createSigner } from 'fast-jwt'
import { TEST_JWT_SECRET } from './app.js'

const signer = createSigner({ key: TEST_JWT_SECRET, expiresIn: 3_600_000 })

/** `Bearer <JWT>` for `sub`, valid an hour, as a gateway started by startGateway() accepts it. */
export function bearer (sub: string): string {
  return `Bearer ${signer({ sub }) as string}`
}

export const SERVER_ENTRY = join(import.meta.dirname, '..', '..', 'dist', 'src', 'server.js')
const STARTUP_MS = 30_000

interface Teardown { teardown: (fn: () => unknown) => void }

/** A port nothing listens on right now. */
export async function freePort (): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as { port: number }
  server.close()
  await once(server, 'close')
  return port
}

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

export interface Gateway {
  base: string
  child: ChildProcessByStdio<null, Readable, Readable>
  /** Everything the process wrote so far (stdout and stderr), for failure messages. */
  output: () => string
}

/**
 * Spawns the server on a port of its own choosing (PORT=0, so no other process can take
 * it in between), resolves once it logs "Server listening", and stops it on teardown
 * (SIGTERM, SIGKILL after 5 s; SIGKILL too if this process exits first).
 */
export async function startGateway (t: Teardown, env: Record<string, string>): Promise<Gateway> {
  const child = spawn(process.execPath, [SERVER_ENTRY], {
    // Only what the test sets, so the machine's own environment cannot leak in.
    env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info', SHUTDOWN_GRACE: '1', AWS_EC2_METADATA_DISABLED: 'true', JWT_SECRET: TEST_JWT_SECRET, ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  const exited = new Promise<void>((resolve) => child.once('exit', () => { resolve() }))
  const killOnExit = (): void => { child.kill('SIGKILL') }
  process.once('exit', killOnExit)
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM')
      const killer = setTimeout(() => child.kill('SIGKILL'), 5000)
      await exited
      clearTimeout(killer)
    }
    process.off('exit', killOnExit)
  })

  let output = ''
  // Both pipes are drained for the whole life of the process: a full pipe would block it.
  child.stderr.on('data', (chunk: Buffer) => { output += chunk.toString() })
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error(`no "Server listening" within ${STARTUP_MS} ms:\n${output}`)) }, STARTUP_MS)
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString()
      const m = /Server listening at http:\/\/127\.0\.0\.1:(\d+)/.exec(output)
      if (m !== null) { clearTimeout(timer); resolve(Number(m[1])) }
    })
    child.once('exit', (code, signal) => { clearTimeout(timer); reject(new Error(`the server exited (${code ?? signal}) before listening:\n${output}`)) })
  })
  return { base: `http://127.0.0.1:${port}`, child, output: () => output }
}

/**
 * Resolves with the next line the process writes to stdout that matches `pattern` (a log
 * line that marks a point in its life, such as the start of a shutdown).
 */
export async function nextLine (gateway: Gateway, pattern: RegExp): Promise<string> {
  const { child } = gateway
  return await new Promise<string>((resolve, reject) => {
    let partial = ''
    const onData = (chunk: Buffer): void => {
      const lines = (partial + chunk.toString()).split('\n')
      partial = lines.pop() ?? ''
      const line = lines.find((l) => pattern.test(l))
      if (line !== undefined) { stop(); resolve(line) }
    }
    const onExit = (): void => { stop(); reject(new Error(`the server exited before a line matching ${String(pattern)}:\n${gateway.output()}`)) }
    const stop = (): void => { child.stdout.off('data', onData); child.off('exit', onExit) }
    child.stdout.on('data', onData)
    child.once('exit', onExit)
  })
}
