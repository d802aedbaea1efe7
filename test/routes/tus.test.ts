// /v1/uploads (tus) against a real Redis and s3rver, with a real tus client (tus-js-client)
// over real sockets: uploads that resume after a cut connection, through another instance,
// ownership, termination, metadata, expiry.
import { Upload } from '@tus/utils'
import { Redis } from 'ioredis'
import { once } from 'node:events'
import { createHash, randomBytes } from 'node:crypto'
import { request as httpRequest, type IncomingMessage } from 'node:http'
import { Readable } from 'node:stream'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import type { UploadOptions } from 'tus-js-client'
import type { Config } from '../../src/config.js'
import { MiB, buildTestApp, type TestApp, type TestDeps } from '../helpers/app.js'
import { freePort } from '../helpers/ports.js'
import { startRedis } from '../helpers/redis.js'
import { startS3 } from '../helpers/s3.js'
import { poll } from '../helpers/wait.js'
import { newId } from '../../src/domain/ids.js'
import { OWNER, QUOTA_BYTES, QUOTA_FILES } from '../../src/stores/upload-store.js'
import { cutSocket, interruptAt, tusUpload, type TusFailure } from '../helpers/tus.js'

const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex')

const redis = await startRedis(t)
const s3 = await startS3(t)

/** An app on a real port, whose PUBLIC_URL is where it listens (tus clients follow Location). */
async function listeningApp (t: Test, overrides: Partial<Config> = {}, deps: TestDeps = { redis, s3 }): Promise<TestApp & { base: string }> {
  const port = await freePort()
  const base = `http://127.0.0.1:${port}`
  const built = await buildTestApp(t, deps, { publicUrl: base, maxUploadBytes: 100 * MiB, ...overrides })
  await built.app.listen({ host: '127.0.0.1', port })
  return { ...built, base }
}

async function auditEvents (config: Config): Promise<Array<{ event: string, fileId: string | null, sub: string | null, reason: string | null }>> {
  return (await readFile(config.auditLog ?? '', 'utf8')).trim().split('\n').filter((l) => l !== '').map((l) => JSON.parse(l))
}

t.test('a small upload: the file record, the object, the headers of the last response', async (t) => {
  const { app, auth, base, config } = await listeningApp(t)
  const data = randomBytes(MiB + 123)
  const { url, response } = await tusUpload(data, {
    endpoint: `${base}/v1/uploads`,
    headers: { authorization: auth('alice') },
    metadata: { filename: 'notes é.txt', filetype: 'text/plain; charset=utf-8', share: 'true', maxDownloads: '3' }
  })
  const fileId = response.getHeader('linkgate-file-id')
  t.match(url, new RegExp(`^${base}/v1/uploads/[0-9a-z]{26}$`))
  t.equal(url.split('/').pop(), fileId, 'the upload URL names the file id')
  t.match(response.getHeader('linkgate-link-url'), /^http:\/\/127\.0\.0\.1:\d+\/s\/[A-Za-z0-9_-]{22}$/)
  t.equal(response.getHeader('cache-control'), 'no-store')
  const file = (await app.inject({ url: `/v1/files/${fileId}`, headers: { authorization: auth('alice') } })).json()
  t.match(file, { id: fileId, filename: 'notes é.txt', contentType: 'text/plain; charset=utf-8', size: data.length, sha256: sha256(data) })
  t.ok((await s3.getObject(`files/${fileId}`))?.equals(data), 'the object holds the bytes')
  t.same((await s3.listKeys()).filter((k) => k.includes(fileId ?? '-')), [`files/${fileId}`], 'nothing but the object remains')
  t.same((await s3.listUploads()).filter((k) => k.includes(fileId ?? '-')), [], 'no multipart upload in progress')
  await app.flushAudit()
  const events = (await auditEvents(config)).filter((e) => e.fileId === fileId).map((e) => e.event)
  t.same(events, ['upload.created', 'file.uploaded', 'link.created'])
  const metrics = (await app.inject({ url: '/metrics' })).body
  t.match(metrics, /^linkgate_resumable_uploads_total\{event="created"\} 1$/m, 'counted')
  t.match(metrics, new RegExp(`^linkgate_upload_bytes_total\\{outcome="success"\\} ${data.length}$`, 'm'), 'its bytes as an upload')
})

/** Starts an upload that is cut mid-way; resolves with its URL. */
async function cutUpload (t: Test, data: Buffer, options: UploadOptions): Promise<string> {
  // A quarter in: the bytes the socket buffers still hold must not make it the whole upload.
  const cut = interruptAt(data.length / 4, cutSocket)
  const failed = await tusUpload(data, { ...options, ...cut }).then(() => null, (err: TusFailure) => err)
  t.ok(cut.happened(), 'the connection was cut mid-way')
  t.ok(failed, 'the client saw the connection fail')
  return failed?.url ?? ''
}

const tus = { 'tus-resumable': '1.0.0' }

t.test('64 MiB, the connection cut mid-way, resumed: byte-exact, and the record has its sha256', async (t) => {
  const { app, auth, base } = await listeningApp(t)
  const data = randomBytes(64 * MiB)
  const authorization = auth('alice')
  const url = await cutUpload(t, data, { endpoint: `${base}/v1/uploads`, headers: { authorization }, metadata: { filename: 'big.bin' } })
  const head = await app.inject({ method: 'HEAD', url: new URL(url).pathname, headers: { ...tus, authorization } })
  t.equal(head.statusCode, 200)
  const offset = Number(head.headers['upload-offset'])
  t.ok(offset > 0 && offset < data.length, `part of it was kept (${offset} bytes)`)
  t.equal(Number(head.headers['upload-length']), data.length)
  const { response } = await tusUpload(data, { uploadUrl: url, headers: { authorization } })
  const fileId = response.getHeader('linkgate-file-id') ?? ''
  t.equal(url.split('/').pop(), fileId)
  const object = await s3.getObject(`files/${fileId}`)
  t.equal(object === null ? null : sha256(object), sha256(data), 'the object is byte-exact')
  const file = (await app.inject({ url: `/v1/files/${fileId}`, headers: { authorization } })).json()
  t.equal(file.sha256, sha256(data), "the record's sha256")
  t.equal(file.size, data.length)
  t.same((await s3.listKeys()).filter((k) => k.includes(fileId)), [`files/${fileId}`], 'nothing but the object remains')
  t.same((await s3.listUploads()).filter((k) => k.includes(fileId)), [])
})

t.test('two instances on one Redis: created through A, cut, resumed through B', async (t) => {
  const a = await listeningApp(t)
  const b = await listeningApp(t)
  const data = randomBytes(20 * MiB)
  const authorization = a.auth('carol')
  const url = await cutUpload(t, data, { endpoint: `${a.base}/v1/uploads`, headers: { authorization }, metadata: { filename: 'ab.bin' } })
  const onB = `${b.base}${new URL(url).pathname}`
  const { response } = await tusUpload(data, { uploadUrl: onB, headers: { authorization } })
  const fileId = response.getHeader('linkgate-file-id') ?? ''
  const object = await s3.getObject(`files/${fileId}`)
  t.equal(object === null ? null : sha256(object), sha256(data), 'byte-exact')
  t.equal((await a.app.inject({ url: `/v1/files/${fileId}`, headers: { authorization } })).json().sha256, sha256(data), 'A reads the record B wrote')
})

t.test('an upload is its creator\'s: for anyone else it does not exist (404, as an unknown one)', async (t) => {
  const { app, auth } = await listeningApp(t)
  const alice = auth('alice')
  const bob = auth('bob')
  const created = await app.inject({ method: 'POST', url: '/v1/uploads', headers: { ...tus, authorization: alice, 'upload-length': '10' } })
  t.equal(created.statusCode, 201, created.body)
  t.equal(created.headers['access-control-allow-origin'], undefined, 'no CORS')
  const path = new URL(created.headers.location ?? '').pathname
  const unknown = await app.inject({ method: 'HEAD', url: '/v1/uploads/01arz3ndektsv4rrffq69g5fav', headers: { ...tus, authorization: bob } })
  t.equal(unknown.statusCode, 404)
  const answers = [
    await app.inject({ method: 'HEAD', url: path, headers: { ...tus, authorization: bob } }),
    await app.inject({ method: 'PATCH', url: path, headers: { ...tus, authorization: bob, 'upload-offset': '0', 'content-type': 'application/offset+octet-stream' }, body: 'x'.repeat(10) }),
    await app.inject({ method: 'DELETE', url: path, headers: { ...tus, authorization: bob } })
  ]
  for (const res of answers) {
    t.equal(res.statusCode, 404, `${res.raw.req.method}`)
    t.equal(res.body, (await app.inject({ method: res.raw.req.method as 'PATCH', url: '/v1/uploads/01arz3ndektsv4rrffq69g5fav', headers: { ...tus, authorization: bob, 'upload-offset': '0', 'content-type': 'application/offset+octet-stream' }, body: 'x' })).body, 'the same answer as for an unknown upload')
  }
  const own = await app.inject({ method: 'HEAD', url: path, headers: { ...tus, authorization: alice } })
  t.equal(own.headers['upload-offset'], '0', "bob's PATCH wrote nothing")
  const keys = String(own.headers['upload-metadata'] ?? '').split(',').map((pair) => pair.trim().split(' ')[0])
  t.notOk(keys.some((key) => key === OWNER || key === QUOTA_BYTES || key === QUOTA_FILES), `HEAD shows the upload's options, not what the gateway keeps of its own (${keys.join(' ')})`)
  const done = await app.inject({ method: 'PATCH', url: path, headers: { ...tus, authorization: alice, 'upload-offset': '0', 'content-type': 'application/offset+octet-stream' }, body: '0123456789' })
  t.equal(done.statusCode, 204)
  const fileId = done.headers['linkgate-file-id']
  t.equal((await app.inject({ method: 'HEAD', url: path, headers: { ...tus, authorization: bob } })).statusCode, 404, 'nor once it is a file')
  const finished = await app.inject({ method: 'HEAD', url: path, headers: { ...tus, authorization: alice } })
  t.match(finished.headers, { 'upload-offset': '10', 'upload-length': '10', 'linkgate-file-id': fileId }, 'the owner still learns the file of a finished upload')
  t.equal((await app.inject({ method: 'DELETE', url: path, headers: { ...tus, authorization: alice } })).statusCode, 404, 'a file is not terminated as an upload')
  t.equal((await s3.getObject(`files/${fileId}`))?.toString(), '0123456789')
})

t.test('termination: 204, then the upload is gone and nothing of it remains', async (t) => {
  const { app, auth, config } = await listeningApp(t)
  const authorization = auth('dave')
  const created = await app.inject({ method: 'POST', url: '/v1/uploads', headers: { ...tus, authorization, 'upload-length': String(8 * MiB), 'content-type': 'application/offset+octet-stream' }, body: randomBytes(6 * MiB) })
  t.equal(created.statusCode, 201, 'creation with upload')
  t.equal(created.headers['upload-offset'], String(6 * MiB))
  t.ok(created.headers['upload-expires'], 'Upload-Expires (expiration)')
  const path = new URL(created.headers.location ?? '').pathname
  const fileId = path.split('/').pop() ?? ''
  const deleted = await app.inject({ method: 'DELETE', url: path, headers: { ...tus, authorization } })
  t.equal(deleted.statusCode, 204)
  t.equal((await app.inject({ method: 'HEAD', url: path, headers: { ...tus, authorization } })).statusCode, 404)
  t.same((await s3.listKeys()).filter((k) => k.includes(fileId)), [], 'no object, info or part')
  t.same((await s3.listUploads()).filter((k) => k.includes(fileId)), [], 'the multipart upload is aborted')
  t.equal((await app.inject({ url: `/v1/files/${fileId}`, headers: { authorization } })).statusCode, 404, 'no record')
  await app.flushAudit()
  t.same((await auditEvents(config)).filter((e) => e.fileId === fileId).map((e) => [e.event, e.sub]), [['upload.created', 'dave'], ['upload.terminated', 'dave']])
})

t.test('Upload-Metadata is checked at creation, before a byte is stored', async (t) => {
  const { app, auth } = await listeningApp(t, { fileMaxRetention: 3600 })
  const b64 = (s: string): string => Buffer.from(s).toString('base64')
  const cases: Array<[string, string]> = [
    [`filename ${b64('a.txt')},maxDownload ${b64('1')}`, 'LG_BAD_METADATA'],
    [`ttl ${b64('60')}`, 'LG_BAD_METADATA'],
    [`share ${b64('yes')}`, 'LG_BAD_METADATA'],
    [`share ${b64('true')},maxDownloads ${b64('0')}`, 'LG_BAD_METADATA'],
    [`share ${b64('true')},ttl ${b64('99999999999')}`, 'LG_TTL_TOO_LONG'],
    [`retention ${b64('7200')}`, 'LG_RETENTION_TOO_LONG'],
    ['owner ' + b64('alice'), 'LG_BAD_METADATA']
  ]
  const before = await s3.listUploads()
  for (const [metadata, code] of cases) {
    const res = await app.inject({ method: 'POST', url: '/v1/uploads', headers: { ...tus, authorization: auth('erin'), 'upload-length': '5', 'upload-metadata': metadata, 'content-type': 'application/offset+octet-stream' }, body: 'hello' })
    t.equal(res.statusCode, 400, metadata)
    t.equal(res.json().code, code, metadata)
    t.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8')
  }
  t.same(await s3.listUploads(), before, 'nothing was created')
  const tooBig = await app.inject({ method: 'POST', url: '/v1/uploads', headers: { ...tus, authorization: auth('erin'), 'upload-length': String(101 * MiB) } })
  t.equal(tooBig.statusCode, 413, 'MAX_UPLOAD_BYTES')
  const token = await app.inject({ method: 'POST', url: '/v1/tokens', headers: { authorization: auth('erin') }, payload: { name: 'reader', scopes: ['files:read'] } })
  const readOnly = await app.inject({ method: 'POST', url: '/v1/uploads', headers: { ...tus, authorization: `Bearer ${token.json().token as string}`, 'upload-length': '5' } })
  t.equal(readOnly.statusCode, 403, 'files:write is needed')
  t.equal(readOnly.json().code, 'LG_SCOPE')
  const anonymous = await app.inject({ method: 'POST', url: '/v1/uploads', headers: { ...tus, 'upload-length': '5' } })
  t.equal(anonymous.statusCode, 401)
})

t.test('an abandoned upload is removed by the sweeper once it has expired', async (t) => {
  const { app, auth, config } = await listeningApp(t)
  const authorization = auth('frank')
  const created = await app.inject({ method: 'POST', url: '/v1/uploads', headers: { ...tus, authorization, 'upload-length': String(10 * MiB), 'content-type': 'application/offset+octet-stream' }, body: randomBytes(7 * MiB) })
  t.equal(created.statusCode, 201)
  const path = new URL(created.headers.location ?? '').pathname
  const fileId = path.split('/').pop() ?? ''
  t.ok((await s3.listKeys()).some((k) => k.includes(fileId)), 'its state is in the bucket')
  await app.sweeper.runOnce()
  t.equal((await app.inject({ method: 'HEAD', url: path, headers: { ...tus, authorization } })).statusCode, 200, 'not yet expired: kept')
  await app.sweeper.runOnce(Date.now() + config.uploadExpiry * 1000 + 1000)
  t.equal((await app.inject({ method: 'HEAD', url: path, headers: { ...tus, authorization } })).statusCode, 404, 'gone')
  t.same((await s3.listKeys()).filter((k) => k.includes(fileId)), [], 'no object, info or part')
  t.same((await s3.listUploads()).filter((k) => k.includes(fileId)), [], 'its multipart upload aborted')
  await app.flushAudit()
  t.same((await auditEvents(config)).filter((e) => e.fileId === fileId).map((e) => [e.event, e.sub]), [['upload.created', 'frank'], ['upload.expired', 'frank']])
})

t.test('embedded mode (a local directory, no Redis): cut, resumed, byte-exact; an abandoned one expires', async (t) => {
  const { app, auth, base, config } = await listeningApp(t, {}, {})
  const data = randomBytes(48 * MiB)
  const authorization = auth('grace')
  const url = await cutUpload(t, data, { endpoint: `${base}/v1/uploads`, headers: { authorization }, metadata: { filename: 'local.bin' } })
  const { response } = await tusUpload(data, { uploadUrl: url, headers: { authorization } })
  const fileId = response.getHeader('linkgate-file-id') ?? ''
  t.equal(sha256(await readFile(join(config.dataDir, 'objects', 'files', fileId))), sha256(data), 'the object is byte-exact')
  t.equal((await app.inject({ url: `/v1/files/${fileId}`, headers: { authorization } })).json().sha256, sha256(data))
  t.same(await readdir(join(config.dataDir, 'uploads')), [], "the upload's state is dropped")

  const created = await app.inject({ method: 'POST', url: '/v1/uploads', headers: { ...tus, authorization, 'upload-length': '100', 'content-type': 'application/offset+octet-stream' }, body: 'x'.repeat(40) })
  t.equal(created.statusCode, 201)
  const abandoned = new URL(created.headers.location ?? '').pathname
  await app.sweeper.runOnce(Date.now() + config.uploadExpiry * 1000 + 1000)
  t.equal((await app.inject({ method: 'HEAD', url: abandoned, headers: { ...tus, authorization } })).statusCode, 404)
  t.same(await readdir(join(config.dataDir, 'uploads')), [], 'its state is gone')
  t.same(await readdir(join(config.dataDir, 'objects', 'files')), [fileId], 'and its bytes; the finished file stays')
})

t.test('quotas: an upload reserves its declared length at creation, is refused before a byte when over, and gives back what it does not keep', async (t) => {
  const { app, auth } = await listeningApp(t, { quota: { bytes: 10 * MiB, files: 2 } })
  const authorization = auth('quota')
  const usage = async (): Promise<{ bytes: number, files: number }> => (await app.inject({ url: '/v1/me', headers: { authorization } })).json().usage
  const create = async (length: number, body?: Buffer): Promise<{ statusCode: number, headers: Record<string, unknown>, json: () => { code?: string } }> =>
    await app.inject({ method: 'POST', url: '/v1/uploads', headers: { ...tus, authorization, 'upload-length': String(length), ...(body === undefined ? {} : { 'content-type': 'application/offset+octet-stream' }) }, ...(body === undefined ? {} : { body }) })
  const over = await create(11 * MiB)
  t.equal(over.statusCode, 413)
  t.equal(over.json().code, 'LG_QUOTA_BYTES')
  t.same(await usage(), { bytes: 0, files: 0 }, 'nothing reserved by a refusal')
  const first = await create(6 * MiB)
  t.equal(first.statusCode, 201)
  t.same(await usage(), { bytes: 6 * MiB, files: 1 }, 'the declared length and the file, at creation')
  t.equal((await create(5 * MiB)).statusCode, 413, 'what the first reserved counts')
  const path = new URL(String(first.headers.location)).pathname
  t.equal((await app.inject({ method: 'DELETE', url: path, headers: { ...tus, authorization } })).statusCode, 204)
  t.same(await usage(), { bytes: 0, files: 0 }, 'termination gives it back')
  const data = randomBytes(3 * MiB)
  const whole = await create(data.length, data)
  t.equal(whole.statusCode, 201, 'created and finished in one request')
  t.ok(whole.headers['linkgate-file-id'])
  t.same(await usage(), { bytes: data.length, files: 1 }, 'the file keeps its share')
  const abandoned = await create(2 * MiB)
  t.equal(abandoned.statusCode, 201)
  await app.sweeper.runOnce(Date.now() + 2 * 86_400_000)
  t.same(await usage(), { bytes: data.length, files: 1 }, 'an expired upload gives its share back')
})

t.test('the rest of tus: OPTIONS, a deferred length, an empty file, a finish after its instance stopped', async (t) => {
  const { app, auth } = await listeningApp(t)
  const authorization = auth('henry')
  const options = await app.inject({ method: 'OPTIONS', url: '/v1/uploads', headers: { authorization } })
  t.equal(options.statusCode, 204)
  t.match(options.headers, { 'tus-version': '1.0.0', 'tus-max-size': String(100 * MiB) })
  t.same(String(options.headers['tus-extension']).split(','), ['creation', 'creation-with-upload', 'creation-defer-length', 'termination', 'expiration'])

  const deferred = await app.inject({ method: 'POST', url: '/v1/uploads', headers: { ...tus, authorization, 'upload-defer-length': '1' } })
  t.equal(deferred.statusCode, 201)
  const path = new URL(String(deferred.headers.location)).pathname
  const patch = { ...tus, authorization, 'content-type': 'application/offset+octet-stream' }
  const one = await app.inject({ method: 'PATCH', url: path, headers: { ...patch, 'upload-offset': '0' }, body: 'abc' })
  t.equal(one.headers['upload-offset'], '3')
  t.equal((await app.inject({ method: 'HEAD', url: path, headers: { ...tus, authorization } })).headers['upload-defer-length'], '1')
  const two = await app.inject({ method: 'PATCH', url: path, headers: { ...patch, 'upload-offset': '3', 'upload-length': '7' }, body: 'defg' })
  t.equal(two.statusCode, 204)
  t.equal((await s3.getObject(`files/${String(two.headers['linkgate-file-id'])}`))?.toString(), 'abcdefg', 'the length told at the end')

  const empty = await app.inject({ method: 'POST', url: '/v1/uploads', headers: { ...tus, authorization, 'upload-length': '0', 'upload-metadata': `filename ${Buffer.from('empty.txt').toString('base64')}` } })
  t.equal(empty.statusCode, 201)
  const emptyId = String(empty.headers['linkgate-file-id'])
  t.equal((await s3.getObject(`files/${emptyId}`))?.length, 0, 'an empty object')
  t.match((await app.inject({ url: `/v1/files/${emptyId}`, headers: { authorization } })).json(), { size: 0, filename: 'empty.txt', sha256: sha256(Buffer.alloc(0)) })
  t.same((await s3.listUploads()).filter((k) => k.includes(emptyId)), [])

  // An instance that stored the last byte and stopped before writing the record.
  const fileId = newId()
  const id = `files/${fileId}`
  await app.uploadStore.create(new Upload({ id, size: 5, offset: 0, metadata: { filename: 'late.txt', filetype: 'text/plain', share: 'false', owner: 'henry', quotaBytes: '0', quotaFiles: '0' } }))
  await app.uploadStore.write(Readable.from([Buffer.from('hello')]), id, 0)
  const late = await app.inject({ method: 'HEAD', url: `/v1/uploads/${fileId}`, headers: { ...tus, authorization } })
  t.match(late.headers, { 'upload-offset': '5', 'upload-length': '5', 'linkgate-file-id': fileId }, 'a HEAD finishes it')
  t.match((await app.inject({ url: `/v1/files/${fileId}`, headers: { authorization } })).json(), { filename: 'late.txt', size: 5, sha256: sha256(Buffer.from('hello')) })
  t.same((await s3.listKeys()).filter((k) => k.includes(fileId)), [id], 'its state dropped')
})

t.test('UPLOAD_CONCURRENCY and UPLOAD_RATE_LIMIT hold for tus as for POST /v1/files', async (t) => {
  const { app, auth, base } = await listeningApp(t, { limits: { redeemPerMinute: 100_000, redeemMisses: 100_000, uploadPerMinute: 3, apiPerMinute: 100_000, authFailures: 100_000, uploadConcurrency: 1, passwordChecks: 64, failOpen: false } })
  const authorization = auth('iris')
  const create = async (): Promise<number | string> => {
    const res = await app.inject({ method: 'POST', url: '/v1/uploads', headers: { ...tus, authorization, 'upload-length': '4' } })
    return res.statusCode === 201 ? new URL(String(res.headers.location)).pathname : res.statusCode
  }
  const [first, second] = [await create(), await create()]
  // A PATCH that holds its slot: headers sent, the body not finished.
  const pending = httpRequest(`${base}${String(first)}`, { method: 'PATCH', headers: { ...tus, authorization, 'upload-offset': '0', 'content-type': 'application/offset+octet-stream', 'content-length': '4' } })
  const answered = once(pending, 'response')
  pending.write('ab')
  const slots = new Redis(redis.url, { keyPrefix: redis.keyPrefix })
  t.teardown(async () => { await slots.quit() })
  t.equal(await poll(async () => await slots.zcard('slots:uploads:iris'), (n) => n === 1, { timeoutMs: 10_000, intervalMs: 20 }), 1, 'the PATCH holds a slot')
  const refused = await app.inject({ method: 'PATCH', url: String(second), headers: { ...tus, authorization, 'upload-offset': '0', 'content-type': 'application/offset+octet-stream' }, body: 'abcd' })
  t.equal(refused.statusCode, 429)
  t.equal(refused.json().code, 'LG_TOO_MANY_UPLOADS')
  pending.end('cd')
  const [res] = await answered as [IncomingMessage]
  res.resume()
  t.equal(res.statusCode, 204, 'the first completes')
  t.type(await create(), 'string', 'a third creation, within UPLOAD_RATE_LIMIT (3)')
  t.equal(await create(), 429, 'the fourth is over it')
})

t.test('closing mid-PATCH: after SHUTDOWN_GRACE the PATCH ends, what it received is kept, and the client resumes elsewhere', async (t) => {
  const a = await listeningApp(t, { shutdownGrace: 1 })
  const b = await listeningApp(t)
  const authorization = a.auth('jack')
  const data = randomBytes(3 * MiB)
  const created = await a.app.inject({ method: 'POST', url: '/v1/uploads', headers: { ...tus, authorization, 'upload-length': String(data.length) } })
  const path = new URL(String(created.headers.location)).pathname
  const pending = httpRequest(`${a.base}${path}`, { method: 'PATCH', headers: { ...tus, authorization, 'upload-offset': '0', 'content-type': 'application/offset+octet-stream', 'content-length': String(data.length) } })
  const ended = new Promise<void>((resolve) => { pending.once('error', () => { resolve() }); pending.once('response', (res) => { res.resume(); resolve() }) })
  await new Promise<void>((resolve) => { pending.write(data.subarray(0, MiB), () => { resolve() }) })
  const slots = new Redis(redis.url, { keyPrefix: redis.keyPrefix })
  t.teardown(async () => { await slots.quit() })
  await poll(async () => await slots.zcard('slots:uploads:jack'), (n) => n === 1, { timeoutMs: 10_000, intervalMs: 20 })
  await a.app.close()
  await ended
  const head = await b.app.inject({ method: 'HEAD', url: path, headers: { ...tus, authorization } })
  const offset = Number(head.headers['upload-offset'])
  t.ok(offset > 0 && offset <= MiB, `what arrived is kept (${offset} bytes)`)
  const rest = await b.app.inject({ method: 'PATCH', url: path, headers: { ...tus, authorization, 'upload-offset': String(offset), 'content-type': 'application/offset+octet-stream' }, body: data.subarray(offset) })
  t.equal(rest.statusCode, 204, 'resumed through another instance')
  t.ok((await s3.getObject(`files/${String(rest.headers['linkgate-file-id'])}`))?.equals(data), 'byte-exact')
})
