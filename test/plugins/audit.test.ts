// The audit trail against a real Redis and s3rver: every event's presence and shape, the
// AUDIT_LOG file, the stdout variant (through the compiled server), that no secret is
// ever in it, and a link's history at GET /v1/links/:id/events (Redis and embedded).
import { Ajv, type ValidateFunction } from 'ajv'
import { createHmac } from 'node:crypto'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { setImmediate as nextTurn } from 'node:timers/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify'
import { Redis } from 'ioredis'
import t, { type Test } from 'tap'
import type { AuditEvent } from '../../src/audit.js'
import { newId } from '../../src/domain/ids.js'
import { newToken } from '../../src/domain/tokens.js'
import { AuditEventSchema } from '../../src/schemas.js'
import { LINK_HISTORY_MAX } from '../../src/stores/link-history.js'
import { TEST_JWT_SECRET, buildTestApp, multipartBody, type TestApp } from '../helpers/app.js'
import { link } from '../helpers/records.js'
import { startRedis } from '../helpers/redis.js'
import { startS3 } from '../helpers/s3.js'
import { listening, spawnServer } from '../helpers/gateway.js'

// ---------------------------------------------------------------------------------------
// Validation

const ajv = new Ajv({ allErrors: true, strict: false })
/** ajv-formats is a transitive dependency; where it cannot be resolved, formats go unchecked (time is checked by hand anyway). */
const addFormats = await import('ajv-formats').then((m: { default: unknown }) => {
  const mod = m.default as ((a: Ajv) => Ajv) | { default: (a: Ajv) => Ajv }
  return typeof mod === 'function' ? mod : mod.default
}, () => null)
if (addFormats === null) t.comment('ajv-formats is not resolvable: the schema is validated without formats')
else addFormats(ajv)
const validateEvent: ValidateFunction = ajv.compile(AuditEventSchema)

const KEYS = ['bytes', 'event', 'fileId', 'ip', 'linkId', 'outcome', 'reason', 'reqId', 'sub', 'time', 'userAgent']
const ID = /^[0-9a-z]{26}$/

/** The fields a route decides; the rest (time, reqId, ip, userAgent) are checked against the request. */
type Expected = Pick<AuditEvent, 'event' | 'outcome' | 'reason' | 'sub' | 'fileId' | 'linkId' | 'bytes'>

function checkShape (t: Test, event: unknown, label: string): void {
  if (typeof event !== 'object' || event === null) {
    t.fail(`${label}: not an object: ${JSON.stringify(event)}`)
    return
  }
  t.ok(validateEvent(event), `${label}: matches AuditEventSchema ${ajv.errorsText(validateEvent.errors)}`)
  t.strictSame(Object.keys(event).sort(), KEYS, `${label}: exactly the schema's fields`)
  const time = (event as { time?: unknown }).time
  t.equal(typeof time === 'string' ? new Date(time).toISOString() : null, time, `${label}: time is an ISO 8601 string`)
}

// ---------------------------------------------------------------------------------------
// Driving an app and collecting what it audits

interface Sent { res: LightMyRequestResponse, events: AuditEvent[], before: number, after: number, userAgent: string | null }

interface Driver {
  emitted: AuditEvent[]
  secrets: Set<string>
  send: (opts: InjectOptions & { userAgent?: string | null }) => Promise<Sent>
}

// A script's HTTP library (a preview bot's user agent would get a page for limited links).
const UA = 'python-requests/2.32 (linkgate audit test; +https://example.test/agent)'

/** Exposes each request's id, so that an event's reqId can be compared with the request it describes. */
function exposeRequestId (app: FastifyInstance): void {
  app.addHook('onSend', async (request, reply) => { reply.header('x-test-request-id', request.id) })
}

function driver (app: FastifyInstance): Driver {
  const emitted: AuditEvent[] = []
  const secrets = new Set<string>()
  app.auditEvents.on('event', (event) => { emitted.push(event) })
  async function send (opts: InjectOptions & { userAgent?: string | null }): Promise<Sent> {
    const { userAgent = UA, ...rest } = opts
    const headers: Record<string, string | undefined> = { ...rest.headers as Record<string, string>, 'user-agent': userAgent ?? undefined }
    const authorization = headers.authorization
    if (typeof authorization === 'string') {
      secrets.add(authorization.replace(/^Bearer /, ''))
      const signature = authorization.split('.')[2]
      if (signature !== undefined && signature.length > 10) secrets.add(signature)
    }
    const password = headers['x-link-password']
    if (typeof password === 'string') secrets.add(password)
    const from = emitted.length
    const before = Date.now()
    const res = await app.inject({ ...rest, headers })
    const after = Date.now()
    const location = res.headers.location
    if (typeof location === 'string') {
      secrets.add(location)
      const sig = new URL(location, 'http://x').searchParams
      for (const name of ['X-Amz-Signature', 'sig']) {
        const value = sig.get(name)
        if (value !== null) secrets.add(value)
      }
    }
    return { res, events: emitted.slice(from), before, after, userAgent }
  }
  return { emitted, secrets, send }
}

/** The request audited exactly these events, in order, each fully as expected. */
function expectEvents (t: Test, sent: Sent, expected: Expected[], label: string): AuditEvent[] {
  t.equal(sent.events.length, expected.length, `${label}: ${expected.length} event(s), got ${sent.events.map((e) => `${e.event}/${String(e.reason)}`).join(', ')}`)
  const reqId = sent.res.headers['x-test-request-id']
  t.ok(typeof reqId === 'string' && reqId !== '', `${label}: the response exposes its request id`)
  expected.forEach((want, i) => {
    const got = sent.events[i]
    const what = `${label} #${i} ${want.event}`
    if (got === undefined) return
    checkShape(t, got, what)
    t.strictSame({ event: got.event, outcome: got.outcome, reason: got.reason, sub: got.sub, fileId: got.fileId, linkId: got.linkId, bytes: got.bytes }, want, what)
    t.equal(got.ip, '127.0.0.1', `${what}: ip`)
    t.equal(got.userAgent, sent.userAgent, `${what}: userAgent`)
    t.equal(got.reqId, reqId, `${what}: reqId is the request's`)
    const time = Date.parse(got.time)
    t.ok(time >= sent.before && time <= sent.after, `${what}: time ${got.time} is during the request`)
  })
  return sent.events
}

const base = { reason: null, sub: null, fileId: null, linkId: null, bytes: null }

/** A link that expired a moment ago, for a file the owner has, written straight into the store. */
async function expiredLink (app: FastifyInstance, fileId: string): Promise<{ id: string, token: string }> {
  const file = await app.linkStore.getFile(fileId)
  if (file === null) throw new Error('no such file')
  const { record, token } = link(file, { createdAt: Date.now() - 10_000, expiresAt: Date.now() - 1 })
  await app.linkStore.createLink(record)
  return { id: record.id, token }
}

function b64url (value: object | string): string {
  return Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url')
}

function hs256 (payload: object, secret: string): string {
  const unsigned = `${b64url({ alg: 'HS256', typ: 'JWT' })}.${b64url(payload)}`
  return `${unsigned}.${createHmac('sha256', secret).update(unsigned).digest('base64url')}`
}

/** The audit log as written: one JSON object per line. */
async function readAuditLog (t: Test, path: string): Promise<{ text: string, events: unknown[] }> {
  const text = await readFile(path, 'utf8')
  t.ok(text.endsWith('\n'), 'the log ends with a newline')
  const lines = text.split('\n').slice(0, -1)
  const events = lines.map((line, i) => {
    try {
      const value: unknown = JSON.parse(line)
      t.ok(typeof value === 'object' && value !== null && !Array.isArray(value), `line ${i + 1} is a JSON object`)
      return value
    } catch {
      t.fail(`line ${i + 1} is not JSON: ${line}`)
      return null
    }
  })
  return { text, events }
}

function noSecrets (t: Test, text: string, secrets: Set<string>, label: string): void {
  t.ok(secrets.size > 0, `${label}: there are secrets to look for`)
  for (const secret of secrets) {
    t.ok(secret.length >= 8, `${label}: ${secret.slice(0, 4)}… is long enough to be meaningful`)
    t.notOk(text.includes(secret), `${label}: does not contain ${secret.slice(0, 12)}…`)
  }
}

// ---------------------------------------------------------------------------------------
// Every event, on Redis and S3

const redis = await startRedis(t)
const s3 = await startS3(t)
const main = await buildTestApp(t, { redis, s3, setup: exposeRequestId })
const { app, auth, config } = main
const drive = driver(app)
const { send } = drive
const alice = auth('alice')

async function upload (owner: string, body: string, query = ''): Promise<Sent> {
  return await send({ method: 'POST', url: `/v1/files?filename=notes.txt${query}`, headers: { authorization: owner, 'content-type': 'text/plain' }, body })
}

t.test('file.uploaded, file.upload_failed and file.deleted', async (t) => {
  const up = await upload(alice, 'twelve bytes')
  t.equal(up.res.statusCode, 201, up.res.body)
  const fileId: string = up.res.json().id
  expectEvents(t, up, [{ ...base, event: 'file.uploaded', outcome: 'success', sub: 'alice', fileId, bytes: 12 }], 'upload')

  const shared = await upload(alice, 'shared', '&share=true')
  t.equal(shared.res.statusCode, 201)
  const { id: sharedId, link } = shared.res.json()
  drive.secrets.add(link.token).add(link.url)
  expectEvents(t, shared, [
    { ...base, event: 'file.uploaded', outcome: 'success', sub: 'alice', fileId: sharedId, bytes: 6 },
    { ...base, event: 'link.created', outcome: 'success', sub: 'alice', fileId: sharedId, linkId: link.id }
  ], 'upload with share=true')

  // A multipart body without a file part: nothing was stored, and the failure names the code.
  const { body, contentType } = multipartBody([{ name: 'note', data: 'no file here' }])
  const noFile = await send({ method: 'POST', url: '/v1/files', headers: { authorization: alice, 'content-type': contentType }, body })
  t.equal(noFile.res.statusCode, 400)
  t.equal(noFile.res.json().code, 'LG_NO_FILE')
  const [failed] = expectEvents(t, noFile, [{ ...base, event: 'file.upload_failed', outcome: 'failure', sub: 'alice', fileId: noFile.events[0]?.fileId ?? 'an id', bytes: 0, reason: 'LG_NO_FILE' }], 'upload without a file part')
  t.match(failed?.fileId, ID, 'the failed upload names the id it would have had')

  // A bad share option fails after the object is stored: the failure carries the bytes.
  const badShare = await upload(alice, 'seven b', `&share=true&ttl=${config.linkMaxTtl + 1}`)
  t.equal(badShare.res.statusCode, 400, badShare.res.body)
  const badShareId = badShare.events[0]?.fileId ?? 'an id'
  expectEvents(t, badShare, [{ ...base, event: 'file.upload_failed', outcome: 'failure', sub: 'alice', fileId: badShareId, bytes: 0, reason: badShare.res.json().code }], 'upload with a bad ttl: refused before a byte is read')
  t.match(badShareId, ID)
  t.equal((await send({ url: `/v1/files/${badShareId}`, headers: { authorization: alice } })).res.statusCode, 404, 'the failed upload left no file')

  const deleted = await send({ method: 'DELETE', url: `/v1/files/${fileId}`, headers: { authorization: alice } })
  t.equal(deleted.res.statusCode, 204)
  expectEvents(t, deleted, [{ ...base, event: 'file.deleted', outcome: 'success', sub: 'alice', fileId, bytes: 12 }], 'delete')

  const again = await send({ method: 'DELETE', url: `/v1/files/${fileId}`, headers: { authorization: alice } })
  t.equal(again.res.statusCode, 404)
  expectEvents(t, again, [], 'deleting a missing file deletes nothing')

  const url = await send({ url: `/v1/files/${sharedId}/url`, headers: { authorization: alice } })
  t.equal(url.res.statusCode, 200)
  drive.secrets.add(url.res.json().url)
  drive.secrets.add(new URL(url.res.json().url).searchParams.get('X-Amz-Signature') ?? '')
})

t.test('file.upload_failed over MAX_UPLOAD_BYTES (its own app and log)', async (t) => {
  const small = await buildTestApp(t, { redis, s3, setup: exposeRequestId }, { maxUploadBytes: 1024 })
  const d = driver(small.app)
  const token = small.auth('alice')
  const body = 'x'.repeat(4096)
  const sent = await d.send({ method: 'POST', url: '/v1/files?filename=big.bin', headers: { authorization: token, 'content-type': 'application/octet-stream' }, body })
  t.equal(sent.res.statusCode, 413)
  const event = sent.events[0]
  expectEvents(t, sent, [{ ...base, event: 'file.upload_failed', outcome: 'failure', sub: 'alice', fileId: event?.fileId ?? 'an id', bytes: event?.bytes ?? -1, reason: 'LG_UPLOAD_TOO_LARGE' }], 'too large')
  t.match(event?.fileId, ID)
  t.ok((event?.bytes ?? 0) > 1024 && (event?.bytes ?? Infinity) <= body.length, `bytes ${String(event?.bytes)} is what was read, over the limit`)

  await small.app.close()
  const log = await readAuditLog(t, small.config.auditLog ?? '')
  t.strictSame(log.events, d.emitted, 'its own log holds exactly its event')
  noSecrets(t, log.text, d.secrets, 'the small app\'s log')
})

t.test('link.created, link.redeemed, link.revoked and link.denied for every reason', async (t) => {
  const up = await upload(alice, 'the file')
  const fileId: string = up.res.json().id
  const size = 8

  async function mint (options: object): Promise<{ id: string, token: string }> {
    const sent = await send({ method: 'POST', url: `/v1/files/${fileId}/links`, headers: { authorization: alice }, body: options })
    t.equal(sent.res.statusCode, 201, sent.res.body)
    const link = sent.res.json()
    drive.secrets.add(link.token).add(link.url)
    expectEvents(t, sent, [{ ...base, event: 'link.created', outcome: 'success', sub: 'alice', fileId, linkId: link.id }], `create ${JSON.stringify(options)}`)
    return link
  }
  const denied = (linkId: string | null, reason: string, sub: string | null = null): Expected =>
    ({ ...base, event: 'link.denied', outcome: 'denied', reason, sub, fileId: linkId === null ? null : fileId, linkId })
  const redeemed = (linkId: string, sub: string | null = null): Expected =>
    ({ ...base, event: 'link.redeemed', outcome: 'success', sub, fileId, linkId, bytes: size })

  // Public, one download: redeemed (no sub, even with no token at all), then exhausted.
  const once = await mint({ maxDownloads: 1 })
  const first = await send({ url: `/s/${once.token}` })
  t.equal(first.res.statusCode, 302)
  expectEvents(t, first, [redeemed(once.id)], 'public redemption')
  const second = await send({ url: `/s/${once.token}`, userAgent: 'curl/8.5.0' })
  t.equal(second.res.statusCode, 404)
  expectEvents(t, second, [denied(once.id, 'exhausted')], 'exhausted')

  const unknown = await send({ url: `/s/${newToken()}` })
  t.equal(unknown.res.statusCode, 404)
  expectEvents(t, unknown, [denied(null, 'not_found')], 'unknown token')

  const expired = await expiredLink(app, fileId)
  drive.secrets.add(expired.token)
  const late = await send({ url: `/s/${expired.token}` })
  t.equal(late.res.statusCode, 404)
  expectEvents(t, late, [denied(expired.id, 'expired')], 'expired')

  const revocable = await mint({})
  const revoke = await send({ method: 'DELETE', url: `/v1/links/${revocable.id}`, headers: { authorization: alice } })
  t.equal(revoke.res.statusCode, 204)
  expectEvents(t, revoke, [{ ...base, event: 'link.revoked', outcome: 'success', sub: 'alice', fileId, linkId: revocable.id }], 'revoke')
  const afterRevoke = await send({ url: `/s/${revocable.token}` })
  t.equal(afterRevoke.res.statusCode, 404)
  expectEvents(t, afterRevoke, [denied(revocable.id, 'revoked')], 'revoked')
  const bobRevokes = await send({ method: 'DELETE', url: `/v1/links/${revocable.id}`, headers: { authorization: auth('bob') } })
  t.equal(bobRevokes.res.statusCode, 404)
  expectEvents(t, bobRevokes, [], 'another user cannot revoke, and nothing is audited as revoked')

  // Restricted to bob: anonymous and a bad JWT are unauthenticated, eve is forbidden, bob redeems.
  const restricted = await mint({ access: { subjects: ['bob'] } })
  const anonymous = await send({ url: `/s/${restricted.token}` })
  t.equal(anonymous.res.statusCode, 401)
  expectEvents(t, anonymous, [denied(restricted.id, 'unauthenticated')], 'restricted, anonymous')
  const forged = await send({ url: `/s/${restricted.token}`, headers: { authorization: `Bearer ${hs256({ sub: 'bob' }, 'not-the-secret-at-all-0123456789')}` } })
  t.equal(forged.res.statusCode, 401)
  // The forged credential is audited as such, and the link's refusal too.
  expectEvents(t, forged, [{ ...base, event: 'auth.failed', outcome: 'denied', reason: 'invalid_token' }, denied(restricted.id, 'unauthenticated')], 'restricted, forged JWT')
  const eve = await send({ url: `/s/${restricted.token}`, headers: { authorization: auth('eve') } })
  t.equal(eve.res.statusCode, 403)
  expectEvents(t, eve, [denied(restricted.id, 'forbidden', 'eve')], 'restricted, eve')
  const bob = await send({ url: `/s/${restricted.token}`, headers: { authorization: auth('bob') } })
  t.equal(bob.res.statusCode, 302)
  expectEvents(t, bob, [redeemed(restricted.id, 'bob')], 'restricted, bob')

  // Password: missing is unauthenticated, wrong is bad_password, right redeems.
  const password = 'correct horse battery staple'
  drive.secrets.add(password)
  const locked = await mint({ password })
  const noPassword = await send({ url: `/s/${locked.token}` })
  t.equal(noPassword.res.statusCode, 401)
  expectEvents(t, noPassword, [denied(locked.id, 'unauthenticated')], 'password missing')
  const wrong = await send({ url: `/s/${locked.token}`, headers: { 'x-link-password': 'Tr0ub4dor&3-wrong' } })
  t.equal(wrong.res.statusCode, 403)
  expectEvents(t, wrong, [denied(locked.id, 'bad_password')], 'password wrong')
  const right = await send({ url: `/s/${locked.token}`, headers: { 'x-link-password': password } })
  t.equal(right.res.statusCode, 302)
  expectEvents(t, right, [redeemed(locked.id)], 'password right')

  // The download form: a forged nonce is bad_form, a wrong password over the form is bad_password.
  const formBody = (fields: Record<string, string>): string => new URLSearchParams(fields).toString()
  const forgedNonce = await send({ method: 'POST', url: `/s/${locked.token}`, headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: formBody({ nonce: 'forged', password }) })
  t.equal(forgedNonce.res.statusCode, 403)
  expectEvents(t, forgedNonce, [denied(locked.id, 'bad_form')], 'form with a forged nonce')
  const browser = 'text/html,application/xhtml+xml;q=0.9,*/*;q=0.8'
  const page = await send({ url: `/s/${locked.token}`, headers: { accept: browser } })
  t.equal(page.res.statusCode, 200)
  expectEvents(t, page, [], 'showing the download page spends and denies nothing')
  const nonce = /name="nonce" value="([^"]+)"/.exec(page.res.body)?.[1] ?? ''
  const formWrong = await send({ method: 'POST', url: `/s/${locked.token}`, headers: { accept: browser, 'content-type': 'application/x-www-form-urlencoded' }, body: formBody({ nonce, password: 'wrong password!' }) })
  t.equal(formWrong.res.statusCode, 403)
  expectEvents(t, formWrong, [denied(locked.id, 'bad_password')], 'form with a wrong password')
  drive.secrets.add(nonce)
  const formRight = await send({ method: 'POST', url: `/s/${locked.token}`, headers: { accept: browser, 'content-type': 'application/x-www-form-urlencoded' }, body: formBody({ nonce, password }) })
  t.equal(formRight.res.statusCode, 303)
  expectEvents(t, formRight, [redeemed(locked.id)], 'form with the right password')

  const head = await send({ method: 'HEAD', url: `/s/${once.token}` })
  t.equal(head.res.statusCode, 404)
  expectEvents(t, head, [], 'HEAD checks without auditing')
})

t.test('auth.failed for every way a bearer token can be wrong, never with a sub', async (t) => {
  const now = Math.floor(Date.now() / 1000)
  const failed = (reason: string): Expected => ({ ...base, event: 'auth.failed', outcome: 'denied', reason })
  const cases: Array<[string, string | undefined, string]> = [
    ['no Authorization header', undefined, 'missing_token'],
    ['not a JWT', 'Bearer not-a-jwt-at-all', 'invalid_token'],
    ['another secret', `Bearer ${hs256({ sub: 'alice' }, 'some-other-secret-0123456789abcdef')}`, 'invalid_token'],
    ['alg none', `Bearer ${b64url({ alg: 'none', typ: 'JWT' })}.${b64url({ sub: 'alice' })}.`, 'invalid_token'],
    ['expired', `Bearer ${hs256({ sub: 'alice', iat: now - 120, exp: now - 60 }, TEST_JWT_SECRET)}`, 'expired_token'],
    ['no sub', `Bearer ${hs256({ name: 'alice', exp: now + 60 }, TEST_JWT_SECRET)}`, 'invalid_subject'],
    ['numeric sub', `Bearer ${hs256({ sub: 42, exp: now + 60 }, TEST_JWT_SECRET)}`, 'invalid_subject'],
    ['empty sub', `Bearer ${hs256({ sub: '', exp: now + 60 }, TEST_JWT_SECRET)}`, 'invalid_subject'],
    ['over-long sub', `Bearer ${hs256({ sub: 'm'.repeat(300), exp: now + 60 }, TEST_JWT_SECRET)}`, 'invalid_subject']
  ]
  for (const [label, authorization, reason] of cases) {
    const sent = await send({ url: '/v1/files', headers: authorization === undefined ? {} : { authorization } })
    t.equal(sent.res.statusCode, 401, label)
    expectEvents(t, sent, [failed(reason)], `auth: ${label}`)
  }

  const longAgent = 'A'.repeat(600)
  const long = await send({ url: '/v1/links', userAgent: longAgent })
  t.equal(long.events[0]?.userAgent, longAgent.slice(0, 512), 'a user agent is capped at 512 characters')
  const none = await send({ url: '/v1/links', userAgent: null })
  expectEvents(t, none, [failed('missing_token')], 'no user agent')
  t.equal(none.events[0]?.userAgent, null)

  const fine = await send({ url: '/v1/files', headers: { authorization: alice } })
  t.equal(fine.res.statusCode, 200)
  expectEvents(t, fine, [], 'a valid token is not audited')
})

/** Creates a file and a password link in `app`, then drives its history. */
async function historyScenario (t: Test, testApp: TestApp, d: Driver): Promise<void> {
  const owner = testApp.auth('owner')
  const up = await d.send({ method: 'POST', url: '/v1/files?filename=h.txt', headers: { authorization: owner, 'content-type': 'text/plain' }, body: 'history' })
  t.equal(up.res.statusCode, 201)
  const fileId: string = up.res.json().id
  const password = 'history password 1'
  d.secrets.add(password)
  const created = await d.send({ method: 'POST', url: `/v1/files/${fileId}/links`, headers: { authorization: owner }, body: { password } })
  t.equal(created.res.statusCode, 201)
  const link: { id: string, token: string, url: string } = created.res.json()
  d.secrets.add(link.token).add(link.url)
  const other = await d.send({ method: 'POST', url: `/v1/files/${fileId}/links`, headers: { authorization: owner } })
  t.equal(other.res.statusCode, 201)
  d.secrets.add(other.res.json().token)

  const downloader = 'curl/8.5.0 (history test)'
  const wrong = await d.send({ url: `/s/${link.token}`, headers: { 'x-link-password': 'not the password' }, userAgent: 'curl/8.0 (guesser)' })
  t.equal(wrong.res.statusCode, 403)
  const right = await d.send({ url: `/s/${link.token}`, headers: { 'x-link-password': password }, userAgent: downloader })
  t.equal(right.res.statusCode, 302)
  // Another link's redemption is not in this link's history.
  t.equal((await d.send({ url: `/s/${other.res.json().token}` })).res.statusCode, 302)

  const ofLink = (): AuditEvent[] => d.emitted.filter((e) => e.linkId === link.id).reverse()
  const history = async (query = ''): Promise<LightMyRequestResponse> =>
    (await d.send({ url: `/v1/links/${link.id}/events${query}`, headers: { authorization: owner } })).res

  const res = await history()
  t.equal(res.statusCode, 200, res.body)
  const items: unknown[] = res.json().items
  items.forEach((item, i) => { checkShape(t, item, `history item ${i}`) })
  t.strictSame(items.map((e) => (e as AuditEvent).event), ['link.redeemed', 'link.denied', 'link.created'], 'newest first')
  t.strictSame(items, ofLink(), 'the history is exactly the link\'s audited events, newest first')
  t.match(items[0], { event: 'link.redeemed', ip: '127.0.0.1', userAgent: downloader, sub: null, linkId: link.id, fileId, bytes: 7 })
  t.match(items[1], { event: 'link.denied', reason: 'bad_password', ip: '127.0.0.1', userAgent: 'curl/8.0 (guesser)', sub: null })
  t.match(items[2], { event: 'link.created', sub: 'owner', userAgent: UA })

  const limited = await history('?limit=2')
  t.equal(limited.statusCode, 200)
  t.strictSame(limited.json().items, ofLink().filter((e) => e.event !== 'link.denied').slice(0, 2), 'limit=2: the lifecycle first, denials only fill the room left')
  t.equal((await history('?limit=1')).json().items.length, 1)
  for (const bad of ['0', '1001', 'ten']) t.equal((await history(`?limit=${bad}`)).statusCode, 400, `limit=${bad}`)

  for (const who of ['intruder', 'owner2']) {
    const foreign = await d.send({ url: `/v1/links/${link.id}/events`, headers: { authorization: testApp.auth(who) } })
    t.equal(foreign.res.statusCode, 404, `${who} gets a 404`)
    t.equal(foreign.res.json().code, 'LG_NOT_FOUND')
    t.notOk(foreign.res.body.includes(downloader), 'and learns nothing')
  }
  const unknown = await d.send({ url: `/v1/links/${newId()}/events`, headers: { authorization: owner } })
  t.equal(unknown.res.statusCode, 404, 'an unknown link is a 404 too')
  const anonymous = await d.send({ url: `/v1/links/${link.id}/events` })
  t.equal(anonymous.res.statusCode, 401, 'the history needs a token')

  const revoked = await d.send({ method: 'DELETE', url: `/v1/links/${link.id}`, headers: { authorization: owner } })
  t.equal(revoked.res.statusCode, 204)
  t.equal((await d.send({ url: `/s/${link.token}`, headers: { 'x-link-password': password } })).res.statusCode, 404)
  const after = await history()
  t.equal(after.statusCode, 200, 'the history outlives the revocation')
  t.strictSame(after.json().items.map((e: AuditEvent) => [e.event, e.reason]),
    [['link.denied', 'revoked'], ['link.revoked', null], ['link.redeemed', null], ['link.denied', 'bad_password'], ['link.created', null]])
  t.strictSame(after.json().items, ofLink())
  noSecrets(t, after.body, d.secrets, 'the history')
}

t.test('GET /v1/links/:id/events on Redis', async (t) => {
  await historyScenario(t, main, drive)
})

t.test('GET /v1/links/:id/events in embedded mode (memory history)', async (t) => {
  const embedded = await buildTestApp(t, { setup: exposeRequestId })
  t.equal(embedded.config.redis, null)
  await historyScenario(t, embedded, driver(embedded.app))
})

t.test('a burst on one link: every redemption is in its history, even those right before close', async (t) => {
  const own = await buildTestApp(t, { redis: { ...redis, keyPrefix: `${redis.keyPrefix}burst:` }, s3 })
  const owner = own.auth('owner')
  const up = await own.app.inject({ method: 'POST', url: '/v1/files?filename=b.txt&share=true', headers: { authorization: owner, 'content-type': 'text/plain' }, body: 'b' })
  const { link } = up.json()
  const burst = await Promise.all(Array.from({ length: 60 }, async () => await own.app.inject({ url: `/s/${link.token}` })))
  t.ok(burst.every((r) => r.statusCode === 302))
  const history = await own.app.inject({ url: `/v1/links/${link.id}/events?limit=1000`, headers: { authorization: owner } })
  t.equal(history.json().items.length, 61, 'read right after: 60 redemptions and the creation')
  // Answered, but their history not yet written when close() begins.
  const last = await Promise.all(Array.from({ length: 10 }, async () => await own.app.inject({ url: `/s/${link.token}` })))
  t.ok(last.every((r) => r.statusCode === 302))
  await own.app.close()
  const raw = new Redis(redis.url)
  t.teardown(async () => { await raw.quit() })
  t.equal(await raw.llen(`${redis.keyPrefix}burst:history:${String(link.id)}`), 71, 'written before Redis was closed')
})

t.test('a hot link: its history is written after the turn, in one call with only the newest LINK_HISTORY_MAX events', async (t) => {
  const keyPrefix = `${redis.keyPrefix}hot:`
  const own = await buildTestApp(t, { redis: { ...redis, keyPrefix }, s3 })
  const owner = own.auth('owner')
  const up = await own.app.inject({ method: 'POST', url: '/v1/files?filename=h.txt&share=true', headers: { authorization: owner, 'content-type': 'text/plain' }, body: 'h' })
  t.equal(up.statusCode, 201, up.body)
  const record = await own.app.linkStore.getLink(up.json().link.id)
  if (record === null) throw new Error('the link was not stored')
  await own.app.flushAudit()
  // The real store's method, watched: every call is still written to Redis.
  const { linkHistory } = own.app
  const append = linkHistory.appendEvents.bind(linkHistory)
  const calls: number[] = []
  const written = new Promise<void>((resolve) => {
    linkHistory.appendEvents = async (linkId, batch, keepUntil) => {
      calls.push(batch.lifecycle.length + batch.denials.length)
      await append(linkId, batch, keepUntil)
      resolve()
    }
  })

  const count = LINK_HISTORY_MAX + 500
  for (let i = 0; i < count; i++) own.app.audit(null, 'link.redeemed', { bytes: i }, record)
  await nextTurn()
  t.strictSame(calls, [], 'nothing is written to the history within the turn of the events')
  await written
  t.strictSame(calls, [LINK_HISTORY_MAX], 'one call, with only as many events as the history keeps')
  const raw = new Redis(redis.url)
  t.teardown(async () => { await raw.quit() })
  const kept = (await raw.lrange(`${keyPrefix}history:${record.id}`, 0, -1)).map((json) => JSON.parse(json) as AuditEvent)
  t.equal(kept.length, LINK_HISTORY_MAX)
  t.strictSame([kept[0]?.bytes, kept.at(-1)?.bytes], [count - 1, count - LINK_HISTORY_MAX], 'the newest, newest first')
})

t.test('an event after close (an upload aborted by the shutdown) is appended to AUDIT_LOG, not a crash', async (t) => {
  const own = await buildTestApp(t, {})
  own.app.audit(null, 'file.deleted', { fileId: 'before-close' })
  await own.app.close()
  own.app.audit(null, 'file.upload_failed', { fileId: 'after-close', reason: 'LG_SHUTTING_DOWN' })
  await nextTurn()
  const log = await readAuditLog(t, own.config.auditLog ?? '')
  t.strictSame(log.events.map((e) => (e as AuditEvent).fileId), ['before-close', 'after-close'])
})

t.test('the AUDIT_LOG file: every event, in order, one JSON line each, no secret', async (t) => {
  t.ok(drive.emitted.length > 40, `${drive.emitted.length} events were emitted`)
  // A burst right before closing: what is still buffered must be flushed by close().
  const from = drive.emitted.length
  const burst = await Promise.all(Array.from({ length: 200 }, async () => await send({ url: '/v1/links', userAgent: 'burst/1.0' })))
  t.ok(burst.every((b) => b.res.statusCode === 401), 'the burst was refused')
  const audited = drive.emitted.slice(from)
  t.ok(audited.length === 200 && audited.every((e) => e.event === 'auth.failed' && e.userAgent === 'burst/1.0'), 'and audited, once per request')
  await app.close()
  const log = await readAuditLog(t, config.auditLog ?? '')
  t.equal(log.events.length, drive.emitted.length, 'one line per event')
  t.strictSame(log.events, drive.emitted, 'the same events in the same order')
  log.events.forEach((event, i) => {
    checkShape(t, event, `line ${i + 1}`)
    for (const key of ['audit', 'level', 'pid', 'hostname', 'msg']) t.notOk(Object.hasOwn(Object(event), key), `line ${i + 1} has no ${key}`)
  })
  const names = new Set(drive.emitted.map((e) => e.event))
  t.strictSame([...names].sort(), ['auth.failed', 'file.deleted', 'file.upload_failed', 'file.uploaded', 'link.created', 'link.denied', 'link.redeemed', 'link.revoked'], 'every kind of event was driven')
  const reasons = new Set(drive.emitted.filter((e) => e.event === 'link.denied').map((e) => e.reason))
  t.strictSame([...reasons].sort(), ['bad_form', 'bad_password', 'exhausted', 'expired', 'forbidden', 'not_found', 'revoked', 'unauthenticated'], 'every denial reason but rate_limited')
  noSecrets(t, log.text, drive.secrets, 'the audit log')
  noSecrets(t, JSON.stringify(drive.emitted), drive.secrets, 'the emitted events')
})

// ---------------------------------------------------------------------------------------
// The compiled server: AUDIT_LOG unset → stdout with "audit": true; set → the file only

/** Runs the server, makes one unauthenticated request once it listens, stops it; returns its stdout. */
async function serverRun (t: Test, env: Record<string, string>): Promise<{ stdout: string, status: number, code: number | null }> {
  const dataDir = await mkdtemp(join(tmpdir(), 'linkgate-audit-'))
  t.teardown(async () => { await rm(dataDir, { recursive: true, force: true }) })
  // Only these variables, as a plain `npm start` has them (startGateway() would add JWT_SECRET and more).
  const server = spawnServer(t, { PORT: '0', HOST: '127.0.0.1', DATA_DIR: dataDir, LOG_LEVEL: 'info', ...env })
  const base = await listening(server)
  const res = await fetch(`${base}/v1/files`, { headers: { 'user-agent': 'stdout-probe/1.0', authorization: 'Bearer not.a.jwt' } })
  await res.arrayBuffer()
  server.child.kill('SIGTERM')
  const { code } = await server.exited
  return { stdout: server.stdout(), status: res.status, code }
}

/** The lines of stdout that claim to be audit events, parsed (null where a line is not JSON). */
function auditLines (t: Test, stdout: string): Array<Record<string, unknown> | null> {
  return stdout.split('\n').filter((l) => l.includes('"audit":true')).map((line) => {
    try {
      return JSON.parse(line) as Record<string, unknown>
    } catch {
      t.fail(`an audit line on stdout is not JSON: ${line}`)
      return null
    }
  })
}

t.test('AUDIT_LOG unset: the event goes to stdout marked "audit": true', async (t) => {
  const run = await serverRun(t, {})
  t.equal(run.status, 401)
  t.equal(run.code, 0)
  const lines = auditLines(t, run.stdout)
  t.equal(lines.length, 1, 'one audit line on stdout')
  const { audit, ...event } = lines[0] ?? {}
  t.equal(audit, true)
  checkShape(t, event, 'stdout audit line')
  t.match(event, { event: 'auth.failed', outcome: 'denied', reason: 'invalid_token', sub: null, ip: '127.0.0.1', userAgent: 'stdout-probe/1.0', fileId: null, linkId: null, bytes: null })
  t.ok(typeof event.reqId === 'string' && event.reqId !== '', 'reqId')
  for (const key of ['level', 'pid', 'hostname', 'msg']) t.notOk(Object.hasOwn(event, key), `no ${key}`)
  t.notOk(run.stdout.includes('not.a.jwt'), 'the bearer token is nowhere on stdout')
})

t.test('AUDIT_LOG set: the event is in the file (flushed on SIGTERM), not on stdout', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'linkgate-audit-file-'))
  t.teardown(async () => { await rm(dir, { recursive: true, force: true }) })
  const path = join(dir, 'nested', 'audit.log')
  const run = await serverRun(t, { AUDIT_LOG: path })
  t.equal(run.status, 401)
  t.equal(run.code, 0)
  t.equal(auditLines(t, run.stdout).length, 0, 'nothing audited on stdout')
  t.notOk(run.stdout.includes('auth.failed'))
  const log = await readAuditLog(t, path)
  t.equal(log.events.length, 1)
  checkShape(t, log.events[0], 'file audit line')
  t.match(log.events[0], { event: 'auth.failed', reason: 'invalid_token', userAgent: 'stdout-probe/1.0', ip: '127.0.0.1' })
})
