// SIGTERM during an upload, on the real server process with Redis and S3: what was
// answered 201 stays; the upload still in flight after SHUTDOWN_GRACE is aborted and
// leaves nothing; the audit log is flushed; the process exits 0. Over keep-alive
// connections, the process exits as soon as the last response is out.
import { once } from 'node:events'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { Agent, request, type IncomingMessage } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import t, { type Test } from 'tap'
import { MiB } from '../helpers/app.js'
import { startRedis } from '../helpers/redis.js'
import { startS3 } from '../helpers/s3.js'
import { bearer, type Gateway, outputLine, s3Env, startGateway } from '../helpers/gateway.js'

t.test('SIGTERM during an upload', async (t) => {
  const redis = await startRedis(t)
  const s3 = await startS3(t)
  const dir = await mkdtemp(join(tmpdir(), 'linkgate-shutdown-'))
  t.teardown(async () => { await rm(dir, { recursive: true, force: true }) })
  const auditLog = join(dir, 'audit.log')
  const gw = await startGateway(t, { REDIS_URL: redis.url, REDIS_KEY_PREFIX: redis.keyPrefix, ...s3Env(s3), AUDIT_LOG: auditLog, SHUTDOWN_GRACE: '1' })

  const authorization = bearer('shutdown')
  const { base } = gw
  const done = await fetch(`${base}/v1/files?filename=done.txt`, { method: 'POST', headers: { authorization, 'content-type': 'text/plain' }, body: 'finished before the signal' })
  t.equal(done.status, 201)
  const kept = await done.json() as { id: string }

  // An upload that will not finish by itself: some bytes, then the client waits.
  const pending = request(`${base}/v1/files?filename=pending.bin`, { method: 'POST', headers: { authorization, 'content-type': 'application/octet-stream', expect: '100-continue' } })
  const answered = new Promise<number>((resolve) => {
    pending.on('response', (res) => { resolve(res.statusCode ?? 0); res.resume() })
    pending.on('error', () => { resolve(-1) })
  })
  await once(pending, 'continue')
  await new Promise<void>((resolve) => pending.write(Buffer.alloc(MiB), () => { resolve() }))

  gw.child.kill('SIGTERM')
  t.equal(await answered, 503, 'the in-flight upload is aborted with a 503 after the grace period')
  const { code } = await gw.exited
  t.equal(code, 0, 'exit 0')

  t.same(await s3.listKeys(), [`files/${kept.id}`], 'only the answered upload is in the bucket')
  const client = new Redis(redis.url, { keyPrefix: redis.keyPrefix })
  t.teardown(async () => { await client.quit() })
  t.same(await client.zrange('owner:shutdown:files', '-', '+', 'BYLEX'), [kept.id], 'only its record remains')
  t.equal((await client.hget(`file:{${kept.id}}`, 'filename')), 'done.txt')

  const events = (await readFile(auditLog, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { event: string, reason: string | null })
  t.match(events.map((e) => e.event), ['file.uploaded', 'file.upload_failed'], 'the audit log was flushed on exit')
  t.equal(events.at(-1)?.reason, 'LG_SHUTTING_DOWN')
})

// Keep-alive clients (undici's fetch, browsers, SDKs) keep their connections open: once the
// gateway closes, a response must say `Connection: close`, and a connection left idle must
// be closed, or server.close() waits for them until close-with-grace kills the process.
const authorization = bearer('keepalive')
/** The log line the gateway writes once it has begun to close its connections. */
const DRAINING = /"msg":"draining/

/** The response and the moment its body ended. */
async function consume (res: IncomingMessage): Promise<{ body: string, endedAt: number }> {
  let body = ''
  for await (const chunk of res) body += (chunk as Buffer).toString()
  return { body, endedAt: performance.now() }
}

/** The moment and code of the process's exit. */
async function exitOf (gw: Gateway): Promise<{ code: number | null, at: number }> {
  const { code } = await gw.exited
  return { code, at: performance.now() }
}

/** An idle keep-alive connection: one answered request, the socket kept by its agent. */
async function idleConnection (t: Test, base: string): Promise<{ closed: Promise<unknown> }> {
  const agent = new Agent({ keepAlive: true })
  t.teardown(() => { agent.destroy() })
  const req = request(`${base}/healthz`, { agent })
  req.end()
  const [res] = await once(req, 'response') as [IncomingMessage]
  t.equal(res.headers.connection, 'keep-alive', 'the idle connection was kept alive')
  const closed = once(res.socket, 'close')
  await consume(res)
  return { closed }
}

t.test('SIGTERM with an upload in flight on a keep-alive connection: 201 with connection: close, then exit 0 at once', async (t) => {
  const redis = await startRedis(t)
  const s3 = await startS3(t)
  // A grace long enough for the upload to finish by itself, and far from the exit it expects
  // (a loaded machine took 1.2 s to exit after the last response).
  const gw = await startGateway(t, { REDIS_URL: redis.url, REDIS_KEY_PREFIX: redis.keyPrefix, ...s3Env(s3), SHUTDOWN_GRACE: '15' })
  const exited = exitOf(gw)
  const idle = await idleConnection(t, gw.base)

  const agent = new Agent({ keepAlive: true })
  t.teardown(() => { agent.destroy() })
  const upload = request(`${gw.base}/v1/files?filename=slow.bin`, {
    agent,
    method: 'POST',
    // 100-continue: the gateway has the request (it is in flight, not an idle connection) before the signal.
    headers: { authorization, 'content-type': 'application/octet-stream', expect: '100-continue' }
  })
  const answered = once(upload, 'response') as Promise<[IncomingMessage]>
  await once(upload, 'continue')
  upload.write(Buffer.alloc(64 * 1024, 1))

  const draining = outputLine(gw, DRAINING)
  gw.child.kill('SIGTERM')
  await draining
  upload.end(Buffer.alloc(64 * 1024, 2))
  const [res] = await answered
  const { body, endedAt } = await consume(res)
  t.equal(res.statusCode, 201, body)
  t.equal(res.headers.connection, 'close', 'the answer closes its connection')
  t.match(JSON.parse(body), { filename: 'slow.bin', size: 128 * 1024 })

  const { code, at } = await exited
  t.equal(code, 0, 'exit 0')
  t.ok(at - endedAt < 5000, `the process exited right after the last response (${Math.round(at - endedAt)} ms), not at close-with-grace's deadline`)
  await idle.closed
  t.pass('the idle keep-alive connection was closed')
})

t.test('SIGTERM while a download streams over a keep-alive connection: exit 0 once it has ended', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'linkgate-shutdown-'))
  t.teardown(async () => { await rm(dataDir, { recursive: true, force: true }) })
  // Embedded mode: the gateway serves the bytes itself, and a big file is still streaming
  // (its headers long sent, saying keep-alive) when the signal comes.
  const gw = await startGateway(t, { DATA_DIR: dataDir, SHUTDOWN_GRACE: '5' })
  const exited = exitOf(gw)
  const size = 64 * MiB
  const up = await fetch(`${gw.base}/v1/files?filename=big.bin&share=true`, { method: 'POST', headers: { authorization, 'content-type': 'application/octet-stream' }, body: Buffer.alloc(size, 7) })
  t.equal(up.status, 201)
  const { link } = await up.json() as { link: { url: string } }
  const redirect = await fetch(`${gw.base}${new URL(link.url).pathname}`, { redirect: 'manual' })
  const location = new URL(redirect.headers.get('location') ?? '', gw.base)

  const agent = new Agent({ keepAlive: true })
  t.teardown(() => { agent.destroy() })
  const download = request(`${gw.base}${location.pathname}${location.search}`, { agent })
  download.end()
  const [res] = await once(download, 'response') as [IncomingMessage]
  t.equal(res.statusCode, 200)
  t.equal(res.headers.connection, 'keep-alive', 'sent before the signal: it promised keep-alive')
  // Not read until the gateway closes: 64 MiB do not fit in the sockets' buffers.
  res.pause()

  const draining = outputLine(gw, DRAINING)
  gw.child.kill('SIGTERM')
  await draining
  let bytes = 0
  res.on('data', (chunk: Buffer) => { bytes += chunk.length }).resume()
  const ended = once(res, 'end').then(() => performance.now())
  const [endedAt, { code, at }] = await Promise.all([ended, exited])
  t.equal(bytes, size, 'the whole file arrived')
  t.equal(code, 0, 'exit 0')
  t.ok(at - endedAt < 1000, `the process exited right after the download ended (${Math.round(at - endedAt)} ms)`)
})
