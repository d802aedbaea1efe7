// QUOTA_BYTES and QUOTA_FILES: checked before and while an upload streams, counted across
// instances, given back by deletes and the retention sweeper; GET /v1/me. Two gateways on one
// real Redis and s3rver, over inject and over real sockets.
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { IncomingMessage, request as httpRequest } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Writable } from 'node:stream'
import { Redis } from 'ioredis'
import { pino } from 'pino'
import t from 'tap'
import type { AuditEvent } from '../../src/audit.js'
import type { Config } from '../../src/config.js'
import { releaseQuota } from '../../src/intake.js'
import { RedisUsageStore } from '../../src/stores/redis-usage-store.js'
import { MiB, buildTestApp, multipartBody, type TestApp } from '../helpers/app.js'
import { startRedis } from '../helpers/redis.js'
import { startS3 } from '../helpers/s3.js'
import { poll } from '../helpers/wait.js'

const redis = await startRedis(t)
const s3 = await startS3(t)

const QUOTA = { bytes: 12 * MiB, files: 4 }

interface Gateway extends TestApp { port: number, failures: AuditEvent[] }

async function gateway (quota: Config['quota'] = QUOTA): Promise<Gateway> {
  const failures: AuditEvent[] = []
  const gw = await buildTestApp(t, { redis, s3, setup: (app) => { app.auditEvents.on('event', (e) => { if (e.event === 'file.upload_failed') failures.push(e) }) } }, { quota })
  await gw.app.listen({ host: '127.0.0.1', port: 0 })
  return { ...gw, port: (gw.app.server.address() as AddressInfo).port, failures }
}

// Two instances on one Redis: every test below sees them share each user's usage.
const a = await gateway()
const b = await gateway()

let users = 0
const newUser = (): string => `quota-user-${++users}`

async function upload (gw: TestApp, sub: string, body: Buffer | string, query = ''): Promise<{ status: number, json: Record<string, unknown> }> {
  const res = await gw.app.inject({ method: 'POST', url: `/v1/files?filename=f.bin${query}`, headers: { authorization: gw.auth(sub), 'content-type': 'application/octet-stream' }, body })
  return { status: res.statusCode, json: res.json() }
}

async function me (gw: TestApp, sub: string): Promise<{ usage: { bytes: number, files: number }, remaining: { bytes: number | null, files: number | null }, limits: Record<string, unknown>, user: string }> {
  const res = await gw.app.inject({ url: '/v1/me', headers: { authorization: gw.auth(sub) } })
  if (res.statusCode !== 200) throw new Error(`/v1/me: ${res.statusCode} ${res.body}`)
  return res.json()
}

async function fileIds (gw: TestApp, sub: string): Promise<string[]> {
  const res = await gw.app.inject({ url: '/v1/files', headers: { authorization: gw.auth(sub) } })
  return (res.json().items as Array<{ id: string }>).map((f) => f.id)
}

/**
 * A raw upload over a real socket: `chunks` written one after another (chunked, unless
 * `length` declares a Content-Length), the body ended unless `end` is false. Resolves with
 * the answer, whenever it comes (a refusal may come before the body is all sent).
 */
async function socketUpload (gw: Gateway, sub: string, chunks: Buffer[], { length, end = true }: { length?: number, end?: boolean } = {}): Promise<{ status: number, body: string }> {
  const req = httpRequest({
    host: '127.0.0.1',
    port: gw.port,
    method: 'POST',
    path: '/v1/files?filename=stream.bin',
    headers: { authorization: gw.auth(sub), 'content-type': 'application/octet-stream', ...(length === undefined ? {} : { 'content-length': String(length) }) }
  })
  // The gateway may answer and close before it has read everything: writes then fail.
  req.on('error', () => {})
  const answered = once(req, 'response').then(async ([res]) => {
    if (!(res instanceof IncomingMessage)) throw new Error('no response')
    let body = ''
    for await (const chunk of res) body += (chunk as Buffer).toString()
    return { status: res.statusCode ?? 0, body }
  })
  // Writes fail once the gateway has answered and closed: the sender stops there.
  const sent = (async () => {
    for (const chunk of chunks) {
      if (req.destroyed) return
      if (!req.write(chunk)) await Promise.race([once(req, 'drain'), once(req, 'close')])
    }
    if (end && !req.destroyed) req.end()
  })().catch(() => {})
  const answer = await answered
  req.destroy()
  await sent
  return answer
}

const pieces = (total: number, size = 256 * 1024): Buffer[] => Array.from({ length: Math.ceil(total / size) }, (_, i) => randomBytes(Math.min(size, total - i * size)))

t.test('GET /v1/me: usage, limits and what is left, for any credential', async (t) => {
  const sub = newUser()
  t.same(await me(a, sub), {
    user: sub,
    usage: { bytes: 0, files: 0 },
    limits: { quotaBytes: QUOTA.bytes, quotaFiles: QUOTA.files, maxUploadBytes: a.config.maxUploadBytes, uploadConcurrency: a.config.limits.uploadConcurrency },
    remaining: { bytes: QUOTA.bytes, files: QUOTA.files }
  })
  t.equal((await upload(a, sub, randomBytes(1000))).status, 201)
  t.equal((await upload(b, sub, randomBytes(24))).status, 201)
  const after = await me(b, sub)
  t.same(after.usage, { bytes: 1024, files: 2 }, 'both instances\' uploads, counted in one place')
  t.same(after.remaining, { bytes: QUOTA.bytes - 1024, files: QUOTA.files - 2 })

  const token = await a.app.inject({ method: 'POST', url: '/v1/tokens', headers: { authorization: a.auth(sub) }, payload: { name: 'reader', scopes: ['links:read'] } })
  t.equal(token.statusCode, 201, token.body)
  const byToken = await b.app.inject({ url: '/v1/me', headers: { authorization: `Bearer ${token.json().token as string}` } })
  t.equal(byToken.statusCode, 200, 'a personal token of any scope may read it')
  t.same(byToken.json().usage, { bytes: 1024, files: 2 })
  t.equal(byToken.headers['cache-control'], 'no-store')

  t.equal((await a.app.inject({ url: '/v1/me' })).statusCode, 401, 'not without a credential')
  t.equal((await a.app.inject({ url: '/v1/me?x=1', headers: { authorization: a.auth(sub) } })).statusCode, 400, 'an unknown parameter is refused')

  const unlimited = await buildTestApp(t, { redis, s3 })
  const open = await me(unlimited, sub)
  t.same(open.limits, { quotaBytes: null, quotaFiles: null, maxUploadBytes: unlimited.config.maxUploadBytes, uploadConcurrency: unlimited.config.limits.uploadConcurrency })
  t.same(open.remaining, { bytes: null, files: null }, 'no quota: null, unlimited')
  t.same(open.usage, { bytes: 1024, files: 2 }, 'usage is counted without a quota too')
})

t.test('QUOTA_BYTES with a Content-Length: 413 before the body is read, and nothing kept', async (t) => {
  const sub = newUser()
  t.equal((await upload(a, sub, randomBytes(5 * MiB))).status, 201)
  const before = await s3.listKeys()
  // The body is declared but never sent in full: only a refusal before reading can answer.
  const refused = await socketUpload(b, sub, [randomBytes(1024)], { length: 8 * MiB, end: false })
  t.equal(refused.status, 413)
  t.same(JSON.parse(refused.body), {
    type: 'about:blank',
    title: 'Payload Too Large',
    status: 413,
    code: 'LG_QUOTA_BYTES',
    detail: `Not enough storage quota left for this upload: ${7 * MiB} of ${12 * MiB} bytes remain (QUOTA_BYTES); delete files to free some`,
    remainingBytes: 7 * MiB,
    remainingFiles: 3
  })
  t.same(await s3.listKeys(), before, 'no object')
  t.equal((await fileIds(a, sub)).length, 1, 'no record')
  t.same((await me(a, sub)).usage, { bytes: 5 * MiB, files: 1 }, 'the refused upload holds nothing')
  t.equal(b.failures.at(-1)?.reason, 'LG_QUOTA_BYTES', 'audited as a failed upload')

  t.equal((await upload(b, sub, randomBytes(7 * MiB))).status, 201, 'exactly what is left fits')
  t.same((await me(a, sub)).remaining, { bytes: 0, files: 2 })
  t.match((await upload(a, sub, 'x')).json, { status: 413, code: 'LG_QUOTA_BYTES', remainingBytes: 0 }, 'one byte more does not')
  t.equal((await upload(a, sub, '')).status, 201, 'an empty file still does')
})

t.test('QUOTA_BYTES mid-stream: chunked and multipart bodies stop at the quota, leaving nothing', async (t) => {
  const sub = newUser()
  const before = await s3.listKeys()
  // More than the 8 MiB a step reserves, and more than the quota.
  const chunked = await socketUpload(a, sub, pieces(15 * MiB))
  t.equal(chunked.status, 413, chunked.body)
  t.match(JSON.parse(chunked.body), { code: 'LG_QUOTA_BYTES', remainingBytes: 12 * MiB, remainingFiles: 4 })

  const { body, contentType } = multipartBody([{ name: 'file', filename: 'm.bin', data: randomBytes(13 * MiB) }])
  const multi = await b.app.inject({ method: 'POST', url: '/v1/files', headers: { authorization: b.auth(sub), 'content-type': contentType }, body })
  t.equal(multi.statusCode, 413)
  t.match(multi.json(), { code: 'LG_QUOTA_BYTES', remainingBytes: 12 * MiB })
  t.same(await s3.listKeys(), before, 'no object')
  t.same(await fileIds(a, sub), [], 'no record')
  t.same((await me(a, sub)).usage, { bytes: 0, files: 0 }, 'and the quota is whole again')

  // Where a whole step no longer fits, a smaller body still does.
  t.equal((await upload(a, sub, randomBytes(10 * MiB + 512 * 1024))).status, 201)
  const small = await socketUpload(b, sub, pieces(MiB + 7))
  t.equal(small.status, 201, small.body)
  t.same((await me(b, sub)).usage, { bytes: 11 * MiB + 512 * 1024 + 7, files: 2 }, 'what was reserved but not used is given back')
})

t.test('QUOTA_FILES: 403 before a byte is read; deleting a file frees its share', async (t) => {
  const sub = newUser()
  for (let i = 0; i < QUOTA.files; i++) t.equal((await upload(i % 2 === 0 ? a : b, sub, `file ${i}`)).status, 201)
  const before = await s3.listKeys()
  const refused = await socketUpload(b, sub, [randomBytes(1024)], { end: false })
  t.equal(refused.status, 403)
  t.same(JSON.parse(refused.body), {
    type: 'about:blank',
    title: 'Forbidden',
    status: 403,
    code: 'LG_QUOTA_FILES',
    detail: 'File quota reached: 4 of 4 files kept (QUOTA_FILES); delete some to upload more',
    remainingBytes: 12 * MiB - 24,
    remainingFiles: 0
  })
  t.same(await s3.listKeys(), before, 'no object')

  const [newest] = await fileIds(a, sub)
  const deleted = await b.app.inject({ method: 'DELETE', url: `/v1/files/${newest ?? ''}`, headers: { authorization: b.auth(sub) } })
  t.equal(deleted.statusCode, 204)
  t.same((await me(a, sub)).usage, { bytes: 18, files: 3 }, 'the file\'s bytes and count are given back')
  const again = await a.app.inject({ method: 'DELETE', url: `/v1/files/${newest ?? ''}`, headers: { authorization: a.auth(sub) } })
  t.equal(again.statusCode, 404)
  t.same((await me(a, sub)).usage, { bytes: 18, files: 3 }, 'a second delete gives nothing back')
  t.equal((await upload(a, sub, 'room again')).status, 201)
})

t.test('parallel uploads of one user, across both instances, never pass the quota', async (t) => {
  const sub = newUser()
  // Declared lengths: reserved whole, up front.
  const sized = await Promise.all(Array.from({ length: 8 }, async (_, i) => await upload(i % 2 === 0 ? a : b, sub, randomBytes(3 * MiB))))
  t.equal(sized.filter((r) => r.status === 201).length, 4, 'exactly four of 3 MiB fit in 12 MiB (and 4 files)')
  for (const r of sized.filter((r) => r.status !== 201)) t.match(r.json, { code: /^LG_QUOTA_(BYTES|FILES)$/ })
  t.same((await me(a, sub)).usage, { bytes: 12 * MiB, files: 4 })

  // Unknown lengths, reserved in steps as they stream.
  const other = newUser()
  const chunked = await Promise.all(Array.from({ length: 8 }, async (_, i) => await socketUpload(i % 2 === 0 ? a : b, other, pieces(2 * MiB))))
  const stored = chunked.filter((r) => r.status === 201)
  t.ok(stored.length >= 1, `${stored.length} stored`)
  for (const r of chunked) t.ok(r.status === 201 || r.status === 413 || r.status === 403, `${r.status} ${r.body}`)
  const usage = (await me(b, other)).usage
  t.ok(usage.bytes <= QUOTA.bytes && usage.files <= QUOTA.files, `within the quota: ${JSON.stringify(usage)}`)
  t.same(usage, { bytes: stored.length * 2 * MiB, files: stored.length }, 'usage is what was stored, nothing held by the refused')
  t.equal((await fileIds(a, other)).length, stored.length)
})

t.test('an upload that fails gives back all it reserved', async (t) => {
  const sub = newUser()
  const failed = a.failures.length
  const req = httpRequest({ host: '127.0.0.1', port: a.port, method: 'POST', path: '/v1/files?filename=cut.bin', headers: { authorization: a.auth(sub), 'content-type': 'application/octet-stream' } })
  req.on('error', () => {})
  // Past a step's reservation, then the client goes.
  for (const chunk of pieces(9 * MiB)) {
    if (!req.write(chunk)) await once(req, 'drain')
  }
  // A step of 8 MiB, then the 4 MiB left, as the gateway reads what was sent.
  const held = await poll(async () => (await me(a, sub)).usage, (u) => u.bytes === 12 * MiB, { timeoutMs: 10_000, intervalMs: 20 })
  t.same(held, { bytes: 12 * MiB, files: 1 }, 'held while it streams')
  req.destroy()
  while (a.failures.length === failed) await once(a.app.auditEvents, 'event')
  t.equal(a.failures.at(-1)?.reason, 'LG_UPLOAD_ABORTED')
  t.same((await me(a, sub)).usage, { bytes: 0, files: 0 })
})

t.test('the retention sweeper gives a file\'s share back', async (t) => {
  const sub = newUser()
  t.equal((await upload(a, sub, randomBytes(4096), '&retention=1')).status, 201)
  t.equal((await upload(a, sub, randomBytes(100))).status, 201)
  t.same((await me(a, sub)).usage, { bytes: 4196, files: 2 })
  await b.app.sweeper.runOnce(Date.now() + 2000)
  t.same((await me(a, sub)).usage, { bytes: 100, files: 1 })
})

t.test('a share that cannot be given back (the store down) is logged, never thrown', async (t) => {
  // Never connected, and no offline queue: every command fails at once, as with Redis down.
  const client = new Redis(redis.url, { lazyConnect: true, enableOfflineQueue: false })
  t.teardown(() => { client.disconnect() })
  const lines: string[] = []
  const log = pino({ level: 'warn' }, new Writable({ write (chunk: Buffer, _encoding, done) { lines.push(chunk.toString()); done() } }))
  await releaseQuota(new RedisUsageStore(client), log, 'someone', { bytes: 10, files: 1 })
  t.match(JSON.parse(lines[0] ?? '{}'), { level: 40, msg: 'quota not given back: usage over-counted until released', bytes: 10, files: 1 })
})
