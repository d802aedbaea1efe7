// POST /v1/files against a real Redis and s3rver, over inject and over a real socket.
import { createHash, randomBytes } from 'node:crypto'
import { request as httpRequest } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Readable } from 'node:stream'
import t from 'tap'
import { TEST_JWT_SECRET, MiB, buildTestApp, multipartBody } from '../helpers/app.js'
import { startRedis } from '../helpers/redis.js'
import { startS3 } from '../helpers/s3.js'

const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex')

const redis = await startRedis(t)
const s3 = await startS3(t)
const { app, auth } = await buildTestApp(t, { redis, s3 })

async function listFiles (sub: string): Promise<unknown[]> {
  const res = await app.inject({ url: '/v1/files', headers: { authorization: auth(sub) } })
  return res.json().items
}

t.test('multipart upload: 201, the exact bytes in the bucket, the record readable', async (t) => {
  const data = randomBytes(256 * 1024)
  const { body, contentType } = multipartBody([
    { name: 'note', data: 'fields before the file are ignored' },
    { name: 'file', filename: 'photo.jpg', contentType: 'image/jpeg', data }
  ])
  const res = await app.inject({ method: 'POST', url: '/v1/files', headers: { authorization: auth('u1'), 'content-type': contentType }, body })
  t.equal(res.statusCode, 201, res.body)
  const file = res.json()
  t.match(file, { filename: 'photo.jpg', size: data.length, contentType: 'image/jpeg', sha256: sha256(data) })
  t.match(file.id, /^[0-9a-z]{26}$/)
  t.equal(file.link, undefined)
  t.ok((await s3.getObject(`files/${file.id}`))?.equals(data), 'object holds the bytes')
  const read = await app.inject({ url: `/v1/files/${file.id}`, headers: { authorization: auth('u1') } })
  t.same(read.json(), { ...file })
})

t.test('the client filename is metadata: escapes decoded, paths stripped, key made by the server', async (t) => {
  const cases = [
    ['quote %22 and %0D%0A newline.txt', 'quote " and  newline.txt'],
    ['C:\\fakepath\\résumé 😀.pdf', 'résumé 😀.pdf'],
    ['../../etc/passwd', 'passwd'],
    ['literal %41 stays.txt', 'literal %41 stays.txt']
  ]
  for (const [sent, kept] of cases) {
    const { body, contentType } = multipartBody([{ name: 'file', filename: sent, data: 'x' }])
    const res = await app.inject({ method: 'POST', url: '/v1/files', headers: { authorization: auth('u2'), 'content-type': contentType }, body })
    t.equal(res.statusCode, 201)
    t.equal(res.json().filename, kept, sent ?? '')
    t.equal(res.json().contentType, 'text/plain', 'multipart default (RFC 7578)')
  }
  t.ok((await s3.listKeys()).every((k) => /^files\/[0-9a-z]{26}$/.test(k)), 'every key is server-made')
})

t.test('raw body of unknown length over a real socket, streamed with backpressure', async (t) => {
  await app.listen({ host: '127.0.0.1', port: 0 })
  const { port } = app.server.address() as AddressInfo
  const data = randomBytes(9 * MiB + 17)
  const res = await new Promise<{ status: number, body: string }>((resolve, reject) => {
    const req = httpRequest({
      host: '127.0.0.1',
      port,
      method: 'POST',
      path: '/v1/files?filename=backup.tar.gz&share=true&maxDownloads=2',
      headers: { authorization: auth('u3'), 'content-type': 'application/gzip' }
    }, (res) => {
      let body = ''
      res.on('data', (c: Buffer) => { body += c.toString() })
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, body }) })
    })
    req.on('error', reject)
    t.equal(req.getHeader('content-length'), undefined)
    Readable.from((function * () { for (let i = 0; i < data.length; i += 100_000) yield data.subarray(i, i + 100_000) })()).pipe(req)
  })
  t.equal(res.status, 201, res.body)
  const file = JSON.parse(res.body)
  t.match(file, { filename: 'backup.tar.gz', size: data.length, contentType: 'application/gzip', sha256: sha256(data) })
  t.match(file.link, { maxDownloads: 2, downloads: 0, status: 'active', fileId: file.id })
  t.equal(file.link.url, `http://gateway.test/s/${file.link.token}`)
  t.ok((await s3.getObject(`files/${file.id}`))?.equals(data))
})

t.test('over MAX_UPLOAD_BYTES: 413, and nothing remains (multipart and raw)', async (t) => {
  const before = await s3.listKeys()
  const big = randomBytes(25 * MiB)
  const { body, contentType } = multipartBody([{ name: 'file', filename: 'big.bin', data: big }])
  const multi = await app.inject({ method: 'POST', url: '/v1/files?share=true', headers: { authorization: auth('u4'), 'content-type': contentType }, body })
  t.equal(multi.statusCode, 413)
  t.match(multi.json(), { status: 413, code: 'LG_UPLOAD_TOO_LARGE', title: 'Payload Too Large' })
  t.match(multi.headers['content-type'], /^application\/problem\+json/)
  const raw = await app.inject({ method: 'POST', url: '/v1/files?filename=big.bin', headers: { authorization: auth('u4'), 'content-type': 'application/octet-stream' }, body: big })
  t.equal(raw.statusCode, 413)
  t.same(await s3.listKeys(), before, 'bucket unchanged')
  t.same(await listFiles('u4'), [], 'no record')
  const links = await app.inject({ url: '/v1/links', headers: { authorization: auth('u4') } })
  t.same(links.json().items, [], 'no link')
})

t.test('client disconnect mid-upload: no object, no record', async (t) => {
  let failed!: (error: unknown) => void
  const failure = new Promise<unknown>((resolve) => { failed = resolve })
  // An instance of its own, so that its hook sees only this upload.
  const local = await buildTestApp(t, {
    redis, s3, setup: (a) => { a.addHook('onError', async (_request, _reply, error) => { failed(error) }) }
  })
  await local.app.listen({ host: '127.0.0.1', port: 0 })
  const { port } = local.app.server.address() as AddressInfo
  const before = await s3.listKeys()
  const req = httpRequest({
    host: '127.0.0.1',
    port,
    method: 'POST',
    path: '/v1/files?filename=partial.bin&share=true',
    headers: { authorization: local.auth('u7'), 'content-type': 'application/octet-stream' }
  })
  req.on('error', () => {})
  // More than one 6 MiB part, so a multipart upload is in flight when the client goes.
  await new Promise<void>((resolve) => req.write(randomBytes(10 * MiB), () => { resolve() }))
  req.destroy()
  t.match(await failure, { statusCode: 400, code: 'LG_UPLOAD_ABORTED' })
  t.same(await s3.listKeys(), before, 'no object')
  t.same(await listFiles('u7'), [], 'no record')
})

t.test('bad multipart bodies are 400 and leave nothing', async (t) => {
  const before = await s3.listKeys()
  const two = multipartBody([{ name: 'file', filename: 'a.txt', data: 'a' }, { name: 'file', filename: 'b.txt', data: 'b' }])
  const none = multipartBody([{ name: 'comment', data: 'no file here' }])
  const wrongName = multipartBody([{ name: 'upload', filename: 'a.txt', data: 'a' }])
  const truncated = multipartBody([{ name: 'file', filename: 'a.txt', data: randomBytes(4096) }])
  const cases: Array<[string, Buffer, string]> = [
    ['two file parts', two.body, two.contentType],
    ['no file part', none.body, none.contentType],
    ['a file part not named "file"', wrongName.body, wrongName.contentType],
    ['a truncated body', truncated.body.subarray(0, 2000), truncated.contentType],
    ['no boundary', truncated.body, 'multipart/form-data']
  ]
  for (const [name, body, contentType] of cases) {
    const res = await app.inject({ method: 'POST', url: '/v1/files', headers: { authorization: auth('u5'), 'content-type': contentType }, body })
    t.equal(res.statusCode, 400, `${name}: ${res.body}`)
    t.equal(res.json().status, 400)
  }
  t.same(await s3.listKeys(), before)
  t.same(await listFiles('u5'), [])
})

t.test('share options are validated before anything is kept', async (t) => {
  const before = await s3.listKeys()
  for (const query of ['ttl=99999999', 'ttl=0', 'maxDownloads=0', 'maxDownloads=abc', 'share=maybe', 'filename=' + 'x'.repeat(2000)]) {
    const res = await app.inject({ method: 'POST', url: `/v1/files?filename=a.txt&share=true&${query}`, headers: { authorization: auth('u6'), 'content-type': 'text/plain' }, body: 'hello' })
    t.equal(res.statusCode, 400, `${query}: ${res.body}`)
  }
  t.same(await s3.listKeys(), before)
  t.same(await listFiles('u6'), [])
})

t.test('authentication: missing, malformed, expired, wrongly signed or alg none → 401', async (t) => {
  const { createSigner } = await import('fast-jwt')
  const b64 = (o: object): string => Buffer.from(JSON.stringify(o)).toString('base64url')
  const headers: Record<string, string | undefined> = {
    missing: undefined,
    'not bearer': 'Basic dXNlcjpwYXNz',
    malformed: 'Bearer not.a.jwt',
    expired: `Bearer ${createSigner({ key: TEST_JWT_SECRET })({ sub: 'x', exp: Math.floor(Date.now() / 1000) - 3600 })}`,
    'wrong secret': `Bearer ${createSigner({ key: 'another-secret-another-secret-another', expiresIn: 3_600_000 })({ sub: 'x' })}`,
    'alg none': `Bearer ${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: 'x' })}.`,
    'no sub': `Bearer ${createSigner({ key: TEST_JWT_SECRET, expiresIn: 3_600_000 })({ name: 'x' })}`
  }
  for (const [name, authorization] of Object.entries(headers)) {
    const res = await app.inject({ method: 'POST', url: '/v1/files?filename=a.txt', headers: { 'content-type': 'text/plain', ...(authorization === undefined ? {} : { authorization }) }, body: 'x' })
    t.equal(res.statusCode, 401, name)
    t.match(res.json(), { status: 401, code: 'LG_UNAUTHENTICATED' })
    t.equal(res.headers['www-authenticate'], 'Bearer')
  }
})

t.test('regression: a multipart body that stalls the parser is closed after IDLE_TIMEOUT, leaving nothing', async (t) => {
  // @fastify/multipart 10.1 never finishes a body whose skipped part (disposition other
  // than form-data) is over 16 KiB; the idle timeout is what frees the connection.
  const local = await buildTestApp(t, { redis, s3 }, { idleTimeout: 1 })
  await local.app.listen({ host: '127.0.0.1', port: 0 })
  const { port } = local.app.server.address() as AddressInfo
  const before = await s3.listKeys()
  const body = Buffer.from('--0\r\nContent-Disposition: attachment; filename="x.txt"\r\n\r\n' + 'b'.repeat(20_000) + '\r\n--0--\r\n')
  const req = httpRequest({
    host: '127.0.0.1',
    port,
    method: 'POST',
    path: '/v1/files',
    headers: { authorization: local.auth('u9'), 'content-type': 'multipart/form-data; boundary=0', 'content-length': body.length }
  })
  const outcome = new Promise<string>((resolve) => {
    req.on('response', (res) => { resolve(`answered ${res.statusCode ?? 0}`) })
    req.on('error', (err: NodeJS.ErrnoException) => { resolve(err.code ?? err.message) })
  })
  req.end(body)
  t.match(await outcome, /^(ECONNRESET|socket hang up|answered 4\d\d)$/, 'the connection is let go, not held forever')
  t.same(await s3.listKeys(), before)
  t.same(await listFiles('u9'), [])
})

t.test('the answer that carries a share token is not cached (Cache-Control: no-store)', async (t) => {
  const shared = await app.inject({ method: 'POST', url: '/v1/files?filename=a.txt&share=true', headers: { authorization: auth('u9'), 'content-type': 'text/plain' }, body: 'hello' })
  t.equal(shared.statusCode, 201)
  t.type(shared.json().link.token, 'string')
  t.equal(shared.headers['cache-control'], 'no-store')
})
