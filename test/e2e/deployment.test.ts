// Deployment mistakes, met the way an operator meets them: real server processes (the
// compiled server, as `npm start` runs it; npm test builds it first) against a real Redis
// and s3rver. No credentials, a store the browser reaches under another name, a port that
// is taken, a DATA_DIR that cannot be written, and the banner's own commands.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { bearer, listening, outputLine, s3Env, spawnServer, startGateway } from '../helpers/gateway.js'
import { freePort } from '../helpers/ports.js'
import { startRedis } from '../helpers/redis.js'
import { startS3 } from '../helpers/s3.js'
import { verifyPresignedUrl } from '../helpers/sigv4.js'

const authorization = bearer('operator')
const BROWSER = 'text/html,application/xhtml+xml,*/*;q=0.8'
/** A frame of a stack trace, as Node prints them and as pino's err serialiser keeps them (in JSON). */
const STACK_FRAME = /\bat \S+ \(\S+:\d+:\d+\)|\bat \/\S+:\d+:\d+/

async function tempDir (t: Test): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'linkgate-deploy-'))
  t.teardown(async () => { await rm(dir, { recursive: true, force: true }) })
  return dir
}

/** Runs the server until it exits, or until it listens (then it is stopped): what it wrote, and how it ended. */
async function runUntilExitOrListening (t: Test, env: Record<string, string>): Promise<{ code: number | null, listened: boolean, stdout: string, stderr: string }> {
  const server = spawnServer(t, env)
  // outputLine() rejects only once the process has exited without the line.
  const listened = await outputLine(server, /Server listening/).then(() => true, () => false)
  if (listened) server.child.kill('SIGTERM')
  const { code } = await server.exited
  return { code, listened, stdout: server.stdout(), stderr: server.stderr() }
}

t.test('S3_BUCKET with no credentials anywhere: the gateway starts, says so in one line, and answers 503 where it needs them', async (t) => {
  const redis = await startRedis(t)
  const s3 = await startS3(t)
  const { AWS_ACCESS_KEY_ID: _id, AWS_SECRET_ACCESS_KEY: _secret, ...withoutCredentials } = s3Env(s3)
  const home = await tempDir(t)
  const shared = { REDIS_URL: redis.url, REDIS_KEY_PREFIX: 'nocreds:', PUBLIC_URL: 'http://gateway.test' }
  // One gateway with credentials shares a file, so that the other has a link to redeem.
  const good = await startGateway(t, { ...s3Env(s3), ...shared })
  const up = await fetch(`${good.base}/v1/files?filename=a.txt`, { method: 'POST', headers: { authorization, 'content-type': 'text/plain' }, body: 'hello' })
  t.equal(up.status, 201)
  const { id } = await up.json() as { id: string }
  const links = await Promise.all([{}, { maxDownloads: 2 }].map(async (options) => {
    const res = await fetch(`${good.base}/v1/files/${id}/links`, { method: 'POST', headers: { authorization, 'content-type': 'application/json' }, body: JSON.stringify(options) })
    return (await res.json() as { token: string }).token
  }))

  // No AWS_* variables, and no credentials file or profile to fall back on.
  const gateway = await startGateway(t, {
    ...withoutCredentials,
    ...shared,
    HOME: home,
    AWS_SHARED_CREDENTIALS_FILE: join(home, 'none'),
    AWS_CONFIG_FILE: join(home, 'none')
  })
  const line = await outputLine(gateway, /credentials/i)
  t.match(JSON.parse(line), { level: 50, msg: /^object store: no S3 credentials .*AWS_ACCESS_KEY_ID/ })
  t.equal(gateway.output().split('\n').filter((l) => /credentials/i.test(l)).length, 1, 'one line')

  const ready = await fetch(`${gateway.base}/readyz`)
  t.equal(ready.status, 503)
  t.match(await ready.json(), { code: 'LG_NOT_READY', detail: /objectStore/ })
  t.notMatch(gateway.output(), STACK_FRAME, 'no stack trace')

  const upload = await fetch(`${gateway.base}/v1/files?filename=b.txt`, { method: 'POST', headers: { authorization, 'content-type': 'text/plain' }, body: 'hello' })
  t.equal(upload.status, 503)
  t.match(await upload.json(), { code: 'LG_DEPENDENCY_UNAVAILABLE' })
  const redeem = await fetch(`${gateway.base}/s/${links[0] as string}`, { redirect: 'manual' })
  t.equal(redeem.status, 503, 'a redemption cannot be signed: 503')
  t.match(await redeem.json(), { code: 'LG_DEPENDENCY_UNAVAILABLE' })
  // The download page needs only where the store is, which no credentials are needed to know.
  const page = await fetch(`${gateway.base}/s/${links[1] as string}`, { headers: { accept: BROWSER } })
  t.equal(page.status, 200)
  t.match(page.headers.get('content-security-policy'), `form-action 'self' http://gateway.test ${s3.endpoint};`)
  t.equal((await fetch(`${gateway.base}/healthz`)).status, 200, 'still alive')
  t.equal(gateway.child.exitCode, null)
})

t.test('S3_PUBLIC_ENDPOINT: the URLs and the pages name the public origin, signed for its host', async (t) => {
  const s3 = await startS3(t)
  // Another name of the same s3rver: the gateway talks to 127.0.0.1, clients to localhost.
  const publicEndpoint = s3.endpoint.replace('127.0.0.1', 'localhost')
  const gateway = await startGateway(t, { ...s3Env(s3), S3_PUBLIC_ENDPOINT: publicEndpoint, PUBLIC_URL: 'http://gateway.test' })
  const up = await fetch(`${gateway.base}/v1/files?filename=hello.txt`, { method: 'POST', headers: { authorization, 'content-type': 'text/plain' }, body: 'hello' })
  t.equal(up.status, 201)
  const { id } = await up.json() as { id: string }
  const res = await fetch(`${gateway.base}/v1/files/${id}/links`, { method: 'POST', headers: { authorization, 'content-type': 'application/json' }, body: JSON.stringify({ maxDownloads: 2 }) })
  const { token } = await res.json() as { token: string }

  const page = await fetch(`${gateway.base}/s/${token}`, { headers: { accept: BROWSER } })
  t.equal(page.status, 200)
  t.match(page.headers.get('content-security-policy'), `form-action 'self' http://gateway.test ${publicEndpoint};`)

  const redirect = await fetch(`${gateway.base}/s/${token}`, { redirect: 'manual' })
  t.equal(redirect.status, 302)
  const location = redirect.headers.get('location') ?? ''
  t.ok(location.startsWith(`${publicEndpoint}/${s3.bucket}/files/${id}?`), location.replace(/\?.*/, '?…'))
  const check = verifyPresignedUrl(location, { secretAccessKey: s3.secretAccessKey })
  t.equal(check.valid, true, check.reason ?? `the signature verifies for host ${new URL(location).host}`)
  const download = await fetch(location)
  t.equal(download.status, 200)
  t.equal(await download.text(), 'hello', 'and the public name serves the file')
})

t.test('a port that is taken: one line, exit 1, no banner and no token', async (t) => {
  const blocker = createServer().listen(0, '127.0.0.1')
  await once(blocker, 'listening')
  t.teardown(() => { blocker.close() })
  const { port } = blocker.address() as AddressInfo
  const { code, listened, stdout, stderr } = await runUntilExitOrListening(t, { HOST: '127.0.0.1', PORT: String(port), DATA_DIR: await tempDir(t) })
  t.equal(listened, false)
  t.equal(code, 1)
  t.equal(stdout, '', 'no banner, no token')
  t.match(stderr, new RegExp(`^linkgate: cannot listen on 127\\.0\\.0\\.1:${port}: the address is already in use[^\\n]*\\n$`))
})

t.test('a DATA_DIR that cannot be written: one line, exit 1, before anything listens', async (t) => {
  // Root writes anywhere whatever the mode, so: a path under a regular file (ENOTDIR).
  const dir = await tempDir(t)
  await writeFile(join(dir, 'file'), 'not a directory')
  const dataDir = join(dir, 'file', 'data')
  const { code, listened, stdout, stderr } = await runUntilExitOrListening(t, { HOST: '127.0.0.1', PORT: '0', DATA_DIR: dataDir })
  t.equal(listened, false, 'it does not start')
  t.equal(code, 1)
  t.equal(stdout, '')
  t.match(stderr, new RegExp(`^linkgate: invalid configuration: DATA_DIR must be a directory the gateway can write to, and ${dataDir} is not \\(ENOTDIR[^\\n]*\\n$`))
})

t.test('an AUDIT_LOG that cannot be appended to: one line, exit 1, not a crash at the first event', async (t) => {
  const dir = await tempDir(t)
  await writeFile(join(dir, 'file'), 'not a directory')
  for (const auditLog of [join(dir, 'file', 'audit.log'), '/proc/linkgate-nope/audit.log']) {
    const { code, listened, stdout, stderr } = await runUntilExitOrListening(t, { HOST: '127.0.0.1', PORT: '0', DATA_DIR: await tempDir(t), AUDIT_LOG: auditLog })
    t.equal(listened, false, `${auditLog}: it does not start`)
    t.equal(code, 1)
    t.equal(stdout, '')
    t.match(stderr, /^linkgate: invalid configuration: AUDIT_LOG must be a file the gateway can append to, and [^\n]* is not \([^\n]*\)\n$/)
  }
})

t.test('a DATA_DIR under /proc (where Node\'s mkdir never answers): one line, exit 1', async (t) => {
  const { code, listened, stderr } = await runUntilExitOrListening(t, { HOST: '127.0.0.1', PORT: '0', DATA_DIR: '/proc/linkgate-nope/data' })
  t.equal(listened, false)
  t.equal(code, 1)
  t.match(stderr, /^linkgate: invalid configuration: DATA_DIR must be a directory the gateway can write to[^\n]*\n$/)
})

t.test('the banner\'s streaming example uploads what it says, wherever it is run', async (t) => {
  const port = await freePort()
  const server = spawnServer(t, { HOST: '127.0.0.1', PORT: String(port), DATA_DIR: await tempDir(t) })
  await listening(server)
  const stdout = server.stdout()
  const token = /export TOKEN=(\S+)/.exec(stdout)?.[1] ?? ''
  const command = stdout.split('\n').find((l) => l.includes('-T -'))?.trim() ?? ''
  t.match(command, /^echo hello \| curl /)
  // Run as a person would, from a directory of theirs (here an empty one).
  const shell = spawn('sh', ['-c', command], { cwd: await tempDir(t), env: { PATH: process.env.PATH ?? '', TOKEN: token }, stdio: ['ignore', 'pipe', 'inherit'] })
  let answer = ''
  shell.stdout.on('data', (c: Buffer) => { answer += c.toString() })
  const [code] = await once(shell, 'exit') as [number]
  t.equal(code, 0)
  t.match(JSON.parse(answer), { filename: 'hello.txt', size: 6, link: { maxDownloads: 3 } })
})
