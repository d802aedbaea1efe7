// Dependency outages: S3 down or stalled under a running gateway, and the real server
// process starting while Redis or S3 is unreachable (it stays up, reports not ready, and
// recovers by itself when Redis comes back). The process tests run dist/src/server.js
// (npm test builds it first, see "pretest").
import { once } from 'node:events'
import { createServer, type Socket } from 'node:net'
import t from 'tap'
import { buildTestApp, multipartBody, s3Config } from '../helpers/app.js'
import { bearer, s3Env, startGateway } from '../helpers/gateway.js'
import { freePort } from '../helpers/ports.js'
import { restartableRedis, startRedis } from '../helpers/redis.js'
import { startS3, type TestS3 } from '../helpers/s3.js'
import { poll } from '../helpers/wait.js'

const redis = await startRedis(t)
let prefixes = 0
/** A Redis namespace per app, so that no test sees another's files or budgets. */
const ownRedis = (): typeof redis => ({ ...redis, keyPrefix: `${redis.keyPrefix}${++prefixes}:` })

async function timed<T> (fn: () => Promise<T>): Promise<{ value: T, ms: number }> {
  const started = Date.now()
  const value = await fn()
  return { value, ms: Date.now() - started }
}

t.test('S3 down under a running gateway', async (t) => {
  const s3 = await startS3(t)
  const { app, auth } = await buildTestApp(t, { redis: ownRedis(), s3 })
  const shared = await app.inject({ method: 'POST', url: '/v1/files?filename=kept.txt&share=true', headers: { authorization: auth('before'), 'content-type': 'text/plain' }, body: 'uploaded while S3 was up' })
  t.equal(shared.statusCode, 201)
  const token = shared.json().link.token as string

  await s3.stop()

  t.test('uploads fail fast with a 5xx and leave no record or link', async (t) => {
    const raw = await timed(async () => await app.inject({
      method: 'POST',
      url: '/v1/files?filename=lost.txt&share=true',
      headers: { authorization: auth('during'), 'content-type': 'text/plain' },
      body: 'never stored'
    }))
    t.comment(`raw upload with S3 down answered ${raw.value.statusCode} in ${raw.ms} ms`)
    t.ok([502, 503, 504].includes(raw.value.statusCode), `502/503/504, got ${raw.value.statusCode}`)
    t.match(raw.value.json(), { code: 'LG_DEPENDENCY_UNAVAILABLE', detail: /object store/ })
    t.ok(raw.ms < 5000, `within 5 s (took ${raw.ms} ms)`)

    const form = multipartBody([{ name: 'file', filename: 'lost.bin', contentType: 'application/octet-stream', data: Buffer.alloc(64 * 1024, 1) }])
    const multipart = await timed(async () => await app.inject({
      method: 'POST',
      url: '/v1/files?share=true&maxDownloads=1',
      headers: { authorization: auth('during'), 'content-type': form.contentType },
      body: form.body
    }))
    t.comment(`multipart upload with S3 down answered ${multipart.value.statusCode} in ${multipart.ms} ms`)
    t.ok([502, 503, 504].includes(multipart.value.statusCode), `502/503/504, got ${multipart.value.statusCode}`)
    t.ok(multipart.ms < 5000, `within 5 s (took ${multipart.ms} ms)`)

    const files = await app.inject({ url: '/v1/files', headers: { authorization: auth('during') } })
    t.equal(files.statusCode, 200)
    t.same(files.json().items, [], 'no file record')
    const links = await app.inject({ url: '/v1/links', headers: { authorization: auth('during') } })
    t.equal(links.statusCode, 200)
    t.same(links.json().items, [], 'no link')
  })

  t.test('redemption of an existing public link keeps working: presigning is local', async (t) => {
    const res = await timed(async () => await app.inject({ url: `/s/${token}` }))
    t.comment(`redemption with S3 down: ${res.ms} ms`)
    t.equal(res.value.statusCode, 302)
    t.ok(res.value.headers.location?.startsWith(`${s3.endpoint}/${s3.bucket}/files/`), 'to a presigned URL on the (down) store')
  })

  t.test('/readyz names the object store, /healthz is fine', async (t) => {
    const ready = await timed(async () => await app.inject({ url: '/readyz' }))
    t.comment(`/readyz with S3 down: ${ready.ms} ms`)
    t.equal(ready.value.statusCode, 503)
    t.match(ready.value.json(), { code: 'LG_NOT_READY', detail: 'Not ready: objectStore unavailable' })
    t.equal((await app.inject({ url: '/healthz' })).statusCode, 200)
  })
})

t.test('S3 stalled (accepts connections, never answers) under a running gateway', async (t) => {
  const stalled: Socket[] = []
  const server = createServer((socket) => {
    stalled.push(socket)
    socket.on('error', () => {})
    socket.resume()
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(async () => {
    for (const socket of stalled) socket.destroy()
    server.close()
    await once(server, 'close')
  })
  const endpoint = `http://127.0.0.1:${(server.address() as { port: number }).port}`

  // Links written through a healthy gateway, then read by one whose S3 is the stalled server.
  const s3 = await startS3(t)
  const linkRedis = ownRedis()
  const healthy = await buildTestApp(t, { redis: linkRedis, s3 })
  const shared = await healthy.app.inject({ method: 'POST', url: '/v1/files?filename=kept.txt&share=true', headers: { authorization: healthy.auth(), 'content-type': 'text/plain' }, body: 'kept' })
  t.equal(shared.statusCode, 201)
  const stalledS3: TestS3 = { ...s3, endpoint }
  // S3_IDLE_TIMEOUT=1, so that an upload gives up after 3 silent attempts of a second.
  const { app, auth } = await buildTestApp(t, { redis: linkRedis, s3: stalledS3 }, { s3: { ...s3Config(stalledS3), idleTimeout: 1 } })

  const redeemed = await timed(async () => await app.inject({ url: `/s/${shared.json().link.token as string}` }))
  t.comment(`redemption with S3 stalled: ${redeemed.ms} ms`)
  t.equal(redeemed.value.statusCode, 302, 'redemption needs no S3 round trip')
  t.ok(redeemed.value.headers.location?.startsWith(`${endpoint}/`))

  const ready = await timed(async () => await app.inject({ url: '/readyz' }))
  t.comment(`/readyz with S3 stalled: ${ready.ms} ms`)
  t.equal(ready.value.statusCode, 503)
  t.match(ready.value.json(), { detail: 'Not ready: objectStore unavailable' })
  t.ok(ready.ms < 4000, `bounded by the 2 s probe timeout (took ${ready.ms} ms)`)

  const upload = await timed(async () => await app.inject({ method: 'POST', url: '/v1/files?filename=lost.txt', headers: { authorization: auth('stalled'), 'content-type': 'text/plain' }, body: 'lost' }))
  t.comment(`upload with S3 stalled (S3_IDLE_TIMEOUT=1): ${upload.ms} ms`)
  t.equal(upload.value.statusCode, 503)
  t.match(upload.value.json(), { code: 'LG_DEPENDENCY_UNAVAILABLE', detail: 'The object store is unavailable, try again shortly' })
  t.ok(upload.ms < 15_000, `bounded by the idle timeout, 3 attempts, and the 5 s cleanup (took ${upload.ms} ms)`)
  const files = await app.inject({ url: '/v1/files', headers: { authorization: auth('stalled') } })
  t.same(files.json().items, [], 'no record of the failed upload')
})

const authorization = bearer('outages')

/** Polls (bounded) until `url` answers `status`: recovery has no event to await. */
async function until (url: string, status: number, deadlineMs: number): Promise<{ status: number, body: unknown, ms: number }> {
  const started = Date.now()
  const last = await poll(async () => {
    const res = await fetch(url)
    return { status: res.status, body: await res.json() as unknown }
  }, (answer) => answer.status === status, { timeoutMs: deadlineMs, intervalMs: 200 })
  return { ...last, ms: Date.now() - started }
}

t.test('the server process starts while Redis is unreachable, and recovers without a restart', async (t) => {
  const own = await restartableRedis(t)
  await own.stop()
  const s3 = await startS3(t)
  const gw = await startGateway(t, { REDIS_URL: own.url, REDIS_KEY_PREFIX: 'lg:', ...s3Env(s3) })

  t.equal((await fetch(`${gw.base}/healthz`)).status, 200, 'alive')
  const ready = await fetch(`${gw.base}/readyz`)
  t.equal(ready.status, 503)
  t.match(await ready.json(), { code: 'LG_NOT_READY', detail: 'Not ready: linkStore unavailable' })

  const list = await timed(async () => await fetch(`${gw.base}/v1/files`, { headers: { authorization } }))
  t.comment(`GET /v1/files with Redis down: ${list.value.status} in ${list.ms} ms`)
  t.equal(list.value.status, 503)
  t.match(await list.value.json(), { code: 'LG_DEPENDENCY_UNAVAILABLE' })
  t.ok(list.ms < 1000, `within a second (took ${list.ms} ms)`)
  const upload = await timed(async () => await fetch(`${gw.base}/v1/files?filename=x.txt`, { method: 'POST', headers: { authorization, 'content-type': 'text/plain' }, body: 'x' }))
  t.comment(`POST /v1/files with Redis down: ${upload.value.status} in ${upload.ms} ms`)
  t.equal(upload.value.status, 503)
  t.ok(upload.ms < 1000, `within a second (took ${upload.ms} ms)`)
  t.same(await s3.listKeys(), [], 'nothing reached the bucket')
  t.equal(gw.child.exitCode, null, 'still running')

  await own.start()
  const recovered = await until(`${gw.base}/readyz`, 200, 20_000)
  t.comment(`/readyz 200 ${recovered.ms} ms after redis-server was ready`)
  t.equal(recovered.status, 200, 'ready again with no restart')
  t.same(recovered.body, { status: 'ready', checks: { linkStore: 'ok', objectStore: 'ok' } })
  const after = await fetch(`${gw.base}/v1/files?filename=after.txt`, { method: 'POST', headers: { authorization, 'content-type': 'text/plain' }, body: 'after' })
  t.equal(after.status, 201, 'and it works')
  t.equal(gw.child.exitCode, null, 'the same process')
})

t.test('the server process starts while S3 is unreachable', async (t) => {
  const closed = `http://127.0.0.1:${await freePort()}`
  const gw = await startGateway(t, {
    REDIS_URL: redis.url,
    REDIS_KEY_PREFIX: ownRedis().keyPrefix,
    ...s3Env({ bucket: 'linkgate-test', endpoint: closed, region: 'us-east-1', accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' })
  })

  t.equal((await fetch(`${gw.base}/healthz`)).status, 200, 'alive')
  const ready = await timed(async () => await fetch(`${gw.base}/readyz`))
  t.comment(`/readyz with S3 unreachable: ${ready.ms} ms`)
  t.equal(ready.value.status, 503)
  t.match(await ready.value.json(), { code: 'LG_NOT_READY', detail: 'Not ready: objectStore unavailable' })

  const upload = await timed(async () => await fetch(`${gw.base}/v1/files?filename=x.txt&share=true`, { method: 'POST', headers: { authorization, 'content-type': 'text/plain' }, body: 'x' }))
  t.comment(`POST /v1/files with S3 unreachable: ${upload.value.status} in ${upload.ms} ms`)
  t.equal(upload.value.status, 503)
  t.match(await upload.value.json(), { code: 'LG_DEPENDENCY_UNAVAILABLE' })
  t.ok(upload.ms < 5000, `within 5 s (took ${upload.ms} ms)`)
  const files = await fetch(`${gw.base}/v1/files`, { headers: { authorization } })
  t.equal(files.status, 200, 'what needs only Redis works')
  t.same((await files.json() as { items: unknown[] }).items, [], 'and no record was written')
  t.equal(gw.child.exitCode, null, 'still running')
})
