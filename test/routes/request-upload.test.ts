// /r/:token, a file request's link, against a real Redis and s3rver: anonymous uploads into
// the owner's files within the request's caps (refused before a byte is stored, or mid-stream
// leaving nothing), after revocation and expiry, with a password, by type; two instances
// racing for the caps; the miss budget; the page and its script.
import { createHash, randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { IncomingMessage, request as httpRequest } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Readable } from 'node:stream'
import { Redis } from 'ioredis'
import t from 'tap'
import type { AuditEvent } from '../../src/audit.js'
import type { Config } from '../../src/config.js'
import { newId } from '../../src/domain/ids.js'
import { hashToken, newToken } from '../../src/domain/tokens.js'
import { requestUsageKey } from '../../src/file-requests.js'
import { usageKey } from '../../src/stores/usage-store.js'
import { MiB, buildTestApp, multipartBody, type TestApp } from '../helpers/app.js'
import { startRedis } from '../helpers/redis.js'
import { startS3 } from '../helpers/s3.js'
import { poll, withTimeout } from '../helpers/wait.js'

const sha256 = (data: Buffer | string): string => createHash('sha256').update(data).digest('hex')

const redis = await startRedis(t)
const s3 = await startS3(t)
const events: AuditEvent[] = []
const gw = await buildTestApp(t, { redis, s3, setup: (app) => { app.auditEvents.on('event', (e) => events.push(e)) } })
const { app, auth } = gw
await app.listen({ host: '127.0.0.1', port: 0 })
const { port } = app.server.address() as AddressInfo

interface Made { id: string, token: string, url: string }

async function makeRequest (body: object, owner = 'owner', on: TestApp = gw): Promise<Made> {
  const res = await on.app.inject({ method: 'POST', url: '/v1/requests', headers: { authorization: on.auth(owner) }, body: { ttl: 3600, ...body } })
  if (res.statusCode !== 201) throw new Error(`request: ${res.statusCode} ${res.body}`)
  return res.json()
}

/** A raw upload by an anonymous client (inject sends a Content-Length). */
async function send (token: string, data: Buffer | string, { filename = 'a.txt', type = 'text/plain', headers = {}, on = gw }: { filename?: string, type?: string, headers?: Record<string, string>, on?: TestApp } = {}): Promise<{ statusCode: number, headers: Record<string, unknown>, body: string, json: () => any }> {
  return await on.app.inject({ method: 'POST', url: `/r/${token}?filename=${encodeURIComponent(filename)}`, headers: { 'content-type': type, 'user-agent': 'uploader/1.0', ...headers }, body: data })
}

/** A raw upload of unknown length (chunked, no Content-Length) over a real socket. */
async function sendChunked (token: string, data: Buffer, type = 'application/octet-stream', to = port): Promise<{ status: number, body: string }> {
  return await new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port: to, method: 'POST', path: `/r/${token}?filename=big.bin`, headers: { 'content-type': type } }, (res) => {
      let body = ''
      res.on('data', (c: Buffer) => { body += c.toString() })
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, body }) })
    })
    // The server may answer and close before the whole body is sent: that is the point.
    req.on('error', (err: NodeJS.ErrnoException) => { if (err.code === 'EPIPE' || err.code === 'ECONNRESET') return; reject(err) })
    Readable.from((function * () { for (let i = 0; i < data.length; i += 64 * 1024) yield data.subarray(i, i + 64 * 1024) })()).pipe(req)
  })
}

async function ownerFiles (owner = 'owner', on: TestApp = gw): Promise<any[]> {
  const res = await on.app.inject({ url: '/v1/files?limit=100', headers: { authorization: on.auth(owner) } })
  return res.json().items
}

async function requestView (id: string, owner = 'owner'): Promise<any> {
  return (await app.inject({ url: `/v1/requests/${id}`, headers: { authorization: auth(owner) } })).json()
}

t.test('maxFiles 2, maxBytes 10 MiB: two files from an anonymous client, the third refused before it is read', async (t) => {
  const made = await makeRequest({ maxFiles: 2, maxBytes: 10 * MiB, message: 'Send the photos' }, 'collector')
  const first = randomBytes(300 * 1024)
  const one = await send(made.token, first, { filename: 'one.jpg', type: 'image/jpeg' })
  t.equal(one.statusCode, 201, one.body)
  t.same(one.json(), { filename: 'one.jpg', size: first.length, contentType: 'image/jpeg', sha256: sha256(first) }, 'what the uploader needs, nothing else: no id, no owner, no link')
  t.equal(one.headers['cache-control'], 'no-store')
  t.not(one.headers.connection, 'close', 'a success keeps the connection')
  const { body, contentType } = multipartBody([{ name: 'file', filename: 'two.txt', contentType: 'text/plain', data: 'second file' }])
  const two = await app.inject({ method: 'POST', url: `/r/${made.token}`, headers: { 'content-type': contentType }, body })
  t.equal(two.statusCode, 201, two.body)
  t.equal(two.json().filename, 'two.txt')

  const keysBefore = await s3.listKeys()
  const three = await send(made.token, 'a third')
  t.equal(three.statusCode, 403)
  t.match(three.json(), { code: 'LG_REQUEST_FULL', remainingFiles: 0 })
  t.equal(three.headers.connection, 'close', 'the rest of its body is not read')
  t.same(await s3.listKeys(), keysBefore, 'nothing stored for it')

  const files = await ownerFiles('collector')
  t.equal(files.length, 2, 'both are the owner\'s files')
  t.ok(files.every((f) => f.request === made.id), 'each says which request it came by')
  for (const f of files) t.ok(await s3.getObject(`files/${f.id as string}`) !== null, 'with its object')
  t.ok((await s3.getObject(`files/${files.find((f) => f.filename === 'one.jpg').id as string}`))?.equals(first), 'byte for byte')
  const view = await requestView(made.id, 'collector')
  t.match(view, { status: 'full', received: { files: 2, bytes: first.length + 'second file'.length } })

  const received = events.filter((e) => e.event === 'request.file_received' && e.fileRequestId === made.id)
  t.equal(received.length, 2, 'audited: request.file_received')
  t.match(received[0], { sub: null, ip: '127.0.0.1', userAgent: 'uploader/1.0', fileId: files.find((f) => f.filename === 'one.jpg').id, bytes: first.length, outcome: 'success' })
  t.match(events.findLast((e) => e.event === 'request.denied'), { reason: 'full', fileRequestId: made.id, outcome: 'denied' })
})

t.test('over maxBytes mid-stream (chunked, no Content-Length): 413, nothing in S3, no record, nothing counted', async (t) => {
  const made = await makeRequest({ maxFiles: 5, maxBytes: 10 * MiB }, 'streamer')
  const keysBefore = await s3.listKeys()
  const res = await sendChunked(made.token, randomBytes(11 * MiB))
  t.equal(res.status, 413, res.body)
  t.match(JSON.parse(res.body), { code: 'LG_REQUEST_TOO_LARGE', remainingBytes: 10 * MiB })
  t.same(await s3.listKeys(), keysBefore, 'no object, no part left')
  t.same(await ownerFiles('streamer'), [], 'no record')
  t.match(await requestView(made.id, 'streamer'), { status: 'active', received: { files: 0, bytes: 0 } }, 'what it reserved is given back')
  t.match(events.findLast((e) => e.event === 'file.upload_failed'), { reason: 'LG_REQUEST_TOO_LARGE' })

  const fits = await sendChunked(made.token, randomBytes(9 * MiB))
  t.equal(fits.status, 201, 'one that fits still goes in')
  const multi = multipartBody([{ name: 'file', filename: 'more.bin', data: randomBytes(2 * MiB) }])
  const over = await app.inject({ method: 'POST', url: `/r/${made.token}`, headers: { 'content-type': multi.contentType }, body: multi.body })
  t.match(over.json(), { status: 413, code: 'LG_REQUEST_TOO_LARGE' }, 'multipart, over what is left')
  const declared = await send(made.token, randomBytes(2 * MiB), { type: 'application/octet-stream' })
  t.match(declared.json(), { status: 413, code: 'LG_REQUEST_TOO_LARGE' }, 'a declared length over what is left: refused before it is read')
  t.equal((await ownerFiles('streamer')).length, 1)
  t.match(await requestView(made.id, 'streamer'), { received: { files: 1, bytes: 9 * MiB } })
})

t.test('revoked: everything refused (410) before a byte is stored; an upload in progress is refused at its end', async (t) => {
  const made = await makeRequest({ maxFiles: 10, maxBytes: 50 * MiB }, 'revoker')
  t.equal((await send(made.token, 'before')).statusCode, 201)
  t.equal((await app.inject({ method: 'DELETE', url: `/v1/requests/${made.id}`, headers: { authorization: auth('revoker') } })).statusCode, 204)
  const keysBefore = await s3.listKeys()
  const after = await send(made.token, 'after')
  t.equal(after.statusCode, 410)
  t.match(after.json(), { code: 'LG_REQUEST_CLOSED' })
  t.equal((await sendChunked(made.token, randomBytes(MiB))).status, 410)
  t.match((await app.inject({ url: `/r/${made.token}`, headers: { accept: 'application/json' } })).json(), { status: 410, code: 'LG_REQUEST_CLOSED' })
  t.same(await s3.listKeys(), keysBefore)
  t.equal((await ownerFiles('revoker')).length, 1)
  t.match(events.findLast((e) => e.event === 'request.denied'), { reason: 'revoked', fileRequestId: made.id })

  // Revoked while a file streams in: nothing of it is kept.
  const open = await makeRequest({ maxFiles: 10, maxBytes: 50 * MiB }, 'revoker')
  const req = httpRequest({ host: '127.0.0.1', port, method: 'POST', path: `/r/${open.token}?filename=slow.bin`, headers: { 'content-type': 'application/octet-stream' } })
  const answered = new Promise<{ status: number, body: string }>((resolve, reject) => {
    req.on('response', (res) => {
      let body = ''
      res.on('data', (c: Buffer) => { body += c.toString() })
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, body }) })
    })
    req.on('error', reject)
  })
  await new Promise<void>((resolve) => req.write(randomBytes(MiB), () => { resolve() }))
  t.equal((await app.inject({ method: 'DELETE', url: `/v1/requests/${open.id}`, headers: { authorization: auth('revoker') } })).statusCode, 204)
  req.end(randomBytes(MiB))
  const res = await answered
  t.equal(res.status, 410, res.body)
  t.same(await s3.listKeys(), keysBefore, 'its object is gone')
  t.equal((await ownerFiles('revoker')).length, 1, 'no record')
  t.match(await requestView(open.id, 'revoker'), { status: 'revoked', received: { files: 0, bytes: 0 } })
})

t.test('expired: 410 before a byte is stored; unknown: 404', async (t) => {
  const now = Date.now()
  const token = newToken()
  const expired = { owner: 'late', tokenHash: hashToken(token), createdAt: now - 10_000, expiresAt: now - 1, maxFiles: 5, maxBytes: MiB }
  await app.requestStore.createRequest({ id: newId(now - 10_000), ...expired, allowedTypes: null, passwordHash: null, message: null, revokedAt: null })
  const keysBefore = await s3.listKeys()
  t.match((await send(token, 'too late')).json(), { status: 410, code: 'LG_REQUEST_EXPIRED' })
  t.match((await app.inject({ url: `/r/${token}`, headers: { accept: 'text/html' } })).statusCode, 410, 'the page too')
  t.match((await send(newToken(), 'nobody')).json(), { status: 404, code: 'LG_NOT_FOUND' })
  t.same(await s3.listKeys(), keysBefore)
  t.same(await ownerFiles('late'), [])
  t.match((await send('not-a-token', 'x')).json(), { status: 400, code: 'LG_BAD_REQUEST' }, 'a malformed token: 400, no I/O')
})

t.test('a password: required, checked before a byte is stored, by header or a form field before the file', async (t) => {
  const made = await makeRequest({ maxFiles: 10, maxBytes: 10 * MiB, password: 'open sesame 1' }, 'guarded')
  const keysBefore = await s3.listKeys()
  t.match((await send(made.token, 'no password')).json(), { status: 401, code: 'LG_PASSWORD_REQUIRED' })
  t.match((await send(made.token, 'wrong', { headers: { 'x-request-password': 'open sesame 2' } })).json(), { status: 403, code: 'LG_PASSWORD_WRONG' })
  const after = multipartBody([{ name: 'file', filename: 'a.txt', data: 'a' }, { name: 'password', data: 'open sesame 1' }])
  t.match((await app.inject({ method: 'POST', url: `/r/${made.token}`, headers: { 'content-type': after.contentType }, body: after.body })).json(),
    { status: 401, code: 'LG_PASSWORD_REQUIRED' }, 'a password after the file comes too late')
  t.same(await s3.listKeys(), keysBefore, 'nothing stored by the refused')
  t.same(await ownerFiles('guarded'), [])
  t.match(events.findLast((e) => e.event === 'request.denied'), { reason: 'unauthenticated', fileRequestId: made.id })

  t.equal((await send(made.token, 'by header', { headers: { 'x-request-password': 'open sesame 1' } })).statusCode, 201)
  const form = multipartBody([{ name: 'password', data: 'open sesame 1' }, { name: 'file', filename: 'b.txt', data: 'by form' }])
  t.equal((await app.inject({ method: 'POST', url: `/r/${made.token}`, headers: { 'content-type': form.contentType }, body: form.body })).statusCode, 201)
  t.equal((await ownerFiles('guarded')).length, 2)
  t.match(await requestView(made.id, 'guarded'), { received: { files: 2 } }, 'the refused took nothing')
})

t.test('allowedTypes: a type it does not take is a 415 before a byte is stored', async (t) => {
  const made = await makeRequest({ maxFiles: 10, maxBytes: 10 * MiB, allowedTypes: ['image/*', 'application/pdf'] }, 'typed')
  const keysBefore = await s3.listKeys()
  const wrongType = (await send(made.token, 'text', { type: 'text/plain' })).json()
  t.match(wrongType, { status: 415, code: 'LG_TYPE_NOT_ALLOWED' })
  t.equal(wrongType.detail, 'This request takes only files of type image/*, application/pdf', 'says what it takes, and no advice meant for the API\'s JSON routes')
  t.match((await send(made.token, 'none', { type: '' })).json(), { status: 415 }, 'no type is application/octet-stream: not taken')
  const html = multipartBody([{ name: 'file', filename: 'x.html', contentType: 'text/html', data: '<script>' }])
  t.match((await app.inject({ method: 'POST', url: `/r/${made.token}`, headers: { 'content-type': html.contentType }, body: html.body })).json(), { status: 415 })
  t.same(await s3.listKeys(), keysBefore)
  t.match(events.findLast((e) => e.event === 'request.denied'), { reason: 'type_not_allowed', fileRequestId: made.id })
  t.equal((await send(made.token, 'png', { type: 'image/png' })).statusCode, 201)
  t.equal((await send(made.token, 'pdf', { type: 'application/pdf' })).statusCode, 201)
  t.match(await requestView(made.id, 'typed'), { received: { files: 2 } })
})

t.test('the page: the owner\'s message escaped, a strict CSP with this origin\'s script only; JSON for API clients; nothing of the owner', async (t) => {
  const made = await makeRequest({ maxFiles: 3, maxBytes: 5 * MiB, allowedTypes: ['image/*'], message: 'Hi! <script>alert(1)</script> & "thanks"' }, 'page-owner@example.com')
  const res = await app.inject({ url: `/r/${made.token}?utm_source=chat`, headers: { accept: 'text/html' } })
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /^text\/html/)
  const csp = String(res.headers['content-security-policy'])
  t.match(csp, /^default-src 'none'; script-src http:\/\/gateway\.test\/assets\/; style-src 'sha256-[^']+' http:\/\/gateway\.test\/assets\/; img-src blob:; connect-src http:\/\/gateway\.test\/r\/; form-action 'self' http:\/\/gateway\.test; base-uri 'none'; frame-ancestors 'none'$/)
  t.equal(res.headers['x-content-type-options'], 'nosniff')
  t.equal(res.headers['referrer-policy'], 'no-referrer')
  t.equal(res.headers['cache-control'], 'no-store')
  t.equal(res.headers['x-robots-tag'], 'noindex')
  t.ok(res.body.includes('<p class="message">Hi! &#60;script&#62;alert(1)&#60;/script&#62; &#38; &#34;thanks&#34;</p>'), 'the message, escaped')
  t.equal(res.body.split('<script').length, 2, 'one script element: the page\'s own')
  t.match(res.body, '<script type="module" src="/assets/request.js"></script>')
  t.match(res.body, `action="/r/${made.token}"`)
  t.notMatch(res.body, 'page-owner', 'the owner is not named')

  const script = await app.inject({ url: '/assets/request.js' })
  t.equal(script.statusCode, 200)
  t.match(script.headers['content-type'], /^text\/javascript/)
  t.equal(script.headers['x-content-type-options'], 'nosniff')
  t.match(script.body, 'new XMLHttpRequest()')

  const info = await app.inject({ url: `/r/${made.token}`, headers: { accept: 'application/json' } })
  t.same(info.json(), {
    message: 'Hi! <script>alert(1)</script> & "thanks"',
    expiresAt: (await requestView(made.id, 'page-owner@example.com')).expiresAt,
    allowedTypes: ['image/*'],
    passwordRequired: false,
    filesLeft: 3,
    bytesLeft: 5 * MiB,
    maxFileBytes: gw.config.maxUploadBytes
  }, 'what is left, and nothing of the owner')

  // A browser without the page's script posts the form: it gets a page back.
  const form = multipartBody([{ name: 'file', filename: '<i>cat.png', contentType: 'image/png', data: 'png' }])
  const posted = await app.inject({ method: 'POST', url: `/r/${made.token}`, headers: { 'content-type': form.contentType, accept: 'text/html' }, body: form.body })
  t.equal(posted.statusCode, 201)
  t.match(posted.headers['content-type'], /^text\/html/)
  t.match(posted.body, '&#60;i&#62;cat.png (3 bytes) was received.')
  t.notMatch(posted.body, 'page-owner')
})

t.test('the misses budget: unknown tokens at /r/* spend it, then /r/* and /s/* answer 429', async (t) => {
  const local = await buildTestApp(t, { redis, s3, setup: (app) => { app.auditEvents.on('event', (e) => events.push(e)) } }, {
    limits: { ...gw.config.limits, redeemMisses: 3 }
  })
  const made = await makeRequest({ maxFiles: 10, maxBytes: MiB }, 'budgeted', local)
  const from = { remoteAddress: '192.0.2.7' }
  for (let i = 0; i < 5; i++) t.equal((await local.app.inject({ ...from, url: `/r/${made.token}`, headers: { accept: 'application/json' } })).statusCode, 200, 'a live token is no miss')
  for (let i = 0; i < 3; i++) {
    const miss = i % 2 === 0
      ? await local.app.inject({ ...from, url: `/r/${newToken()}`, headers: { accept: 'application/json' } })
      : await local.app.inject({ ...from, method: 'POST', url: `/r/${newToken()}?filename=a`, headers: { 'content-type': 'text/plain' }, body: 'x' })
    t.equal(miss.statusCode, 404)
  }
  const refused = await local.app.inject({ ...from, url: `/r/${newToken()}` })
  t.equal(refused.statusCode, 429)
  t.match(refused.json(), { code: 'LG_RATE_LIMITED' })
  t.ok(Number(refused.headers['retry-after']) > 0)
  t.equal((await local.app.inject({ ...from, method: 'POST', url: `/r/${made.token}?filename=a`, headers: { 'content-type': 'text/plain' }, body: 'x' })).statusCode, 429, 'even a valid token, for the rest of the window')
  t.equal((await local.app.inject({ ...from, url: `/s/${newToken()}` })).statusCode, 429, 'and share links: one budget')
  t.match(events.findLast((e) => e.event === 'request.denied' && e.ip === '192.0.2.7'), { reason: 'rate_limited' })
  t.equal((await local.app.inject({ remoteAddress: '192.0.2.8', method: 'POST', url: `/r/${made.token}?filename=a`, headers: { 'content-type': 'text/plain' }, body: 'x' })).statusCode, 201, 'another client is not held up')
})

t.test('two instances on one Redis racing for one request never pass its caps', async (t) => {
  const other = await buildTestApp(t, { redis, s3 })
  await other.app.listen({ host: '127.0.0.1', port: 0 })
  const otherPort = (other.app.server.address() as AddressInfo).port
  const apps = [gw, other]
  const keysBefore = (await s3.listKeys()).length

  // maxFiles: 5 of 30 small files, sent to both instances at once.
  const byCount = await makeRequest({ maxFiles: 5, maxBytes: 100 * MiB }, 'racer')
  const counted = await Promise.all(Array.from({ length: 30 }, async (_, i) => (await send(byCount.token, `file ${i}`, { on: apps[i % 2] })).statusCode))
  t.equal(counted.filter((s) => s === 201).length, 5, 'exactly maxFiles')
  t.ok(counted.every((s) => s === 201 || s === 403), counted.join(' '))

  // maxBytes: 1 MiB of ten 300 KiB files of declared length: exactly three fit.
  const byBytes = await makeRequest({ maxFiles: 100, maxBytes: MiB }, 'racer')
  const sized = await Promise.all(Array.from({ length: 10 }, async (_, i) => (await send(byBytes.token, randomBytes(300 * 1024), { type: 'application/octet-stream', on: apps[i % 2] })).statusCode))
  t.equal(sized.filter((s) => s === 201).length, 3, 'exactly what fits')

  // Unknown lengths, streamed: never more than maxBytes, whatever the interleaving.
  const streamed = await makeRequest({ maxFiles: 100, maxBytes: 5 * MiB }, 'racer')
  const chunked = await Promise.all(Array.from({ length: 8 }, async (_, i) => (await sendChunked(streamed.token, randomBytes(2 * MiB), 'application/octet-stream', i % 2 === 0 ? port : otherPort)).status))
  t.ok(chunked.every((s) => s === 201 || s === 413), chunked.join(' '))
  const streamedOk = chunked.filter((s) => s === 201).length
  t.ok(streamedOk * 2 <= 5, `${streamedOk} of 2 MiB each within 5 MiB`)

  // Streamed uploads that fit together all go in: none holds more of the cap than it uses
  // for long (bytes are reserved a sixteenth of the cap at a time).
  const roomy = await makeRequest({ maxFiles: 100, maxBytes: 5 * MiB }, 'racer')
  const fitting = await Promise.all(Array.from({ length: 4 }, async (_, i) => (await sendChunked(roomy.token, randomBytes(MiB + 1000), 'application/octet-stream', i % 2 === 0 ? port : otherPort)).status))
  t.same(fitting, [201, 201, 201, 201], 'four of 1 MiB at once in 5 MiB')

  const files = await ownerFiles('racer', other)
  const per = (id: string): any[] => files.filter((f) => f.request === id)
  t.equal(per(byCount.id).length, 5)
  t.equal(per(byBytes.id).length, 3)
  t.equal(per(streamed.id).length, streamedOk)
  t.equal(per(roomy.id).length, 4)
  t.equal((await s3.listKeys()).length, keysBefore + 5 + 3 + streamedOk + 4, 'an object for each record, none for the refused')
  t.match(await requestView(byCount.id, 'racer'), { received: { files: 5 } })
  t.match(await requestView(byBytes.id, 'racer'), { received: { files: 3, bytes: 3 * 300 * 1024 } })
  t.match(await requestView(streamed.id, 'racer'), { received: { files: streamedOk, bytes: streamedOk * 2 * MiB } }, 'what was refused is given back')
})

t.test('caps and limits of the config still apply: MAX_UPLOAD_BYTES per file', async (t) => {
  const config: Partial<Config> = { maxUploadBytes: MiB }
  const small = await buildTestApp(t, { redis, s3 }, config)
  const made = await makeRequest({ maxFiles: 10, maxBytes: 100 * MiB }, 'limited', small)
  const res = await small.app.inject({ method: 'POST', url: `/r/${made.token}?filename=big`, headers: { 'content-type': 'application/octet-stream' }, body: randomBytes(MiB + 1) })
  t.match(res.json(), { status: 413, code: 'LG_UPLOAD_TOO_LARGE' })
  t.same(await ownerFiles('limited', small), [])

  // A declared length over it: refused before a byte is read, holding nothing of the caps
  // meanwhile (else it would hold them for as long as its sender trickles the body).
  await small.app.listen({ host: '127.0.0.1', port: 0 })
  const req = httpRequest({ host: '127.0.0.1', port: (small.app.server.address() as AddressInfo).port, method: 'POST', path: `/r/${made.token}?filename=big`, headers: { 'content-type': 'application/octet-stream', 'content-length': String(MiB + 1) } })
  req.on('error', () => {})
  req.write('only the first bytes')
  const [answer] = await withTimeout('the answer to a declared length over MAX_UPLOAD_BYTES', once(req, 'response'), 5000) as [IncomingMessage]
  let body = ''
  for await (const chunk of answer) body += (chunk as Buffer).toString()
  req.destroy()
  t.match(JSON.parse(body), { status: 413, code: 'LG_UPLOAD_TOO_LARGE' })
  t.same(await small.app.usageStore.get(requestUsageKey(made.id)), { bytes: 0, files: 0 }, 'nothing of the caps held')
})

t.test('embedded mode (memory stores, a local directory): the same caps', async (t) => {
  const embedded = await buildTestApp(t)
  const made = await makeRequest({ maxFiles: 1, maxBytes: MiB }, 'embedded', embedded)
  const first = await send(made.token, 'kept locally', { on: embedded })
  t.equal(first.statusCode, 201, first.body)
  t.match((await send(made.token, 'one too many', { on: embedded })).json(), { status: 403, code: 'LG_REQUEST_FULL' })
  const files = await ownerFiles('embedded', embedded)
  t.equal(files.length, 1)
  t.equal(files[0].request, made.id)
  const url = (await embedded.app.inject({ url: `/v1/files/${files[0].id as string}/url`, headers: { authorization: embedded.auth('embedded') } })).json().url as string
  t.equal((await embedded.app.inject({ url: new URL(url).pathname + new URL(url).search })).body, 'kept locally', 'its bytes, from the local store')
})

t.test('over the owner\'s quota: refused, and the uploader learns nothing of what the owner keeps', async (t) => {
  const quota = { bytes: 2 * MiB, files: 3 }
  const limited = await buildTestApp(t, { redis, s3 }, { quota })
  const made = await makeRequest({ maxFiles: 10, maxBytes: 100 * MiB }, 'quota-owner', limited)
  const own = await limited.app.inject({ method: 'POST', url: '/v1/files?filename=own.bin', headers: { authorization: limited.auth('quota-owner'), 'content-type': 'application/octet-stream' }, body: randomBytes(MiB + 17) })
  t.equal(own.statusCode, 201, 'the owner keeps 1 MiB + 17 bytes of their own')

  const keysBefore = await s3.listKeys()
  const bytes = await send(made.token, randomBytes(MiB), { type: 'application/octet-stream', on: limited })
  t.match(bytes.json(), { status: 413, code: 'LG_QUOTA_BYTES' })
  t.notOk('remainingBytes' in bytes.json() || 'remainingFiles' in bytes.json(), 'bytes: no remainingBytes or remainingFiles of the owner\'s')
  t.notMatch(bytes.json().detail, /[0-9]|QUOTA_|delete/, 'bytes: no count of the owner\'s, nothing only the owner can act on')
  t.equal((await send(made.token, 'two', { on: limited })).statusCode, 201)
  t.equal((await send(made.token, 'three', { on: limited })).statusCode, 201)
  const files = await send(made.token, 'four', { on: limited })
  t.match(files.json(), { status: 403, code: 'LG_QUOTA_FILES' })
  t.notOk('remainingBytes' in files.json() || 'remainingFiles' in files.json(), 'files: no remainingBytes or remainingFiles of the owner\'s')
  t.notMatch(files.json().detail, /[0-9]|QUOTA_|delete/, 'files: no count of the owner\'s, nothing to act on')
  t.equal((await s3.listKeys()).length, keysBefore.length + 2, 'nothing stored for the refused')
  const own403 = await limited.app.inject({ method: 'POST', url: '/v1/files?filename=x', headers: { authorization: limited.auth('quota-owner'), 'content-type': 'text/plain' }, body: 'x' })
  t.match(own403.json(), { status: 403, code: 'LG_QUOTA_FILES', remainingFiles: 0 }, 'the owner is still told what is left')
})

t.test('the uploader leaving while the request\'s caps wait on Redis: nothing of the owner\'s quota stays held', async (t) => {
  const failed: AuditEvent[] = []
  const held = await buildTestApp(t, { redis, s3, setup: (app) => { app.auditEvents.on('event', (e) => { if (e.event === 'file.upload_failed') failed.push(e) }) } }, { quota: { bytes: 100 * MiB, files: null } })
  await held.app.listen({ host: '127.0.0.1', port: 0 })
  const made = await makeRequest({ maxFiles: 5, maxBytes: 16 * MiB }, 'leaver', held)
  const usage = async (): Promise<{ owner: unknown, request: unknown }> =>
    ({ owner: await held.app.usageStore.get(usageKey('leaver')), request: await held.app.usageStore.get(requestUsageKey(made.id)) })
  const req = httpRequest({ host: '127.0.0.1', port: (held.app.server.address() as AddressInfo).port, method: 'POST', path: `/r/${made.token}?filename=gone.bin`, headers: { 'content-type': 'application/octet-stream' } })
  req.on('error', () => {})
  await new Promise<void>((resolve) => req.write(randomBytes(64 * 1024), () => { resolve() }))
  // The first bytes hold a step of each: 1 MiB of the request's (a sixteenth), 8 MiB of the owner's.
  t.same(await poll(usage, (u) => (u.request as { bytes: number }).bytes === MiB, { timeoutMs: 5000, intervalMs: 20 }),
    { owner: { bytes: 8 * MiB, files: 0 }, request: { bytes: MiB, files: 1 } })

  // Redis holds the writes back while the next step of the request's caps is asked for; the
  // uploader leaves meanwhile, and the upload fails with that reservation in flight (all of it
  // well within the client's command timeout, 1 s, after which the reservation would fail).
  const admin = new Redis(redis.url)
  t.teardown(() => { admin.disconnect() })
  await admin.call('CLIENT', 'PAUSE', '20000', 'WRITE')
  try {
    // One byte past the step: the last chunk waits, and nothing is left unread behind it, so
    // that the gateway sees the uploader go.
    await new Promise<void>((resolve) => req.write(randomBytes(MiB - 64 * 1024 + 1), () => { resolve() }))
    const blocked = async (): Promise<string> => String(await admin.call('CLIENT', 'LIST'))
    const waiting = (list: string): string | undefined => list.split('\n').find((c) => / flags=b /.test(c))
    t.ok(waiting(await poll(blocked, (list) => waiting(list) !== undefined, { timeoutMs: 5000, intervalMs: 20 })), 'the caps\' next step waits on Redis')
    req.destroy()
    // The failed upload's first give-back is queued behind it (the query buffer of the blocked client).
    const queued = (list: string): boolean => /qbuf=[1-9]/.test(waiting(list) ?? '')
    t.ok(queued(await poll(blocked, queued, { timeoutMs: 5000, intervalMs: 20 })), 'the upload has failed')
  } finally {
    await admin.call('CLIENT', 'UNPAUSE')
  }
  await poll(async () => failed.length, (n) => n > 0, { timeoutMs: 5000, intervalMs: 20 })
  t.match(failed, [{ reason: 'LG_UPLOAD_ABORTED' }])
  t.same(await usage(), { owner: { bytes: 0, files: 0 }, request: { bytes: 0, files: 0 } }, 'all given back, the owner\'s quota too')
})
