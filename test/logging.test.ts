// No secret reaches the log: share tokens, JWTs, passwords, presigned URLs and their signatures.
import { once } from 'node:events'
import { readFile } from 'node:fs/promises'
import { connect } from 'node:net'
import { Writable } from 'node:stream'
import t from 'tap'
import { loggerOptions } from '../src/logger.js'
import { buildTestApp } from './helpers/app.js'
import { bearer, outputLine, s3Env, startGateway } from './helpers/gateway.js'
import { startRedis } from './helpers/redis.js'
import { startS3 } from './helpers/s3.js'

const lines: string[] = []
const stream = new Writable({ write (chunk: Buffer, _enc, done) { lines.push(chunk.toString()); done() } })
const redis = await startRedis(t)
const s3 = await startS3(t)
const options = loggerOptions('trace')
const { app, auth, config } = await buildTestApp(t, { redis, s3, logger: typeof options === 'object' ? { ...options, stream } : options })

t.test('a full share flow at trace level logs no secret', async (t) => {
  const jwt = auth('logger-test')
  const up = await app.inject({ method: 'POST', url: '/v1/files?filename=secret-plans.txt&share=true', headers: { authorization: jwt, 'content-type': 'text/plain' }, body: 'x' })
  t.equal(up.statusCode, 201)
  const { id, link } = up.json()
  const redeem = await app.inject({ url: `/s/${link.token}` })
  t.equal(redeem.statusCode, 302)
  const owner = await app.inject({ url: `/v1/files/${id}/url`, headers: { authorization: jwt } })
  t.equal(owner.statusCode, 200)
  await app.inject({ url: '/v1/files', headers: { authorization: 'Bearer not.a.valid-jwt' } })
  await app.inject({ url: `/s/${link.token.slice(0, 21)}!` })

  await app.close()
  const log = lines.join('') + await readFile(config.auditLog ?? '', 'utf8')
  t.ok(log.includes('/s/[redacted]'), 'redemptions are logged, masked')
  t.ok(log.includes('"event":"link.redeemed"'), 'the audit log is scanned too')
  t.ok(log.includes('"event":"auth.failed"'))
  const secrets = {
    'share token': link.token,
    JWT: jwt.slice('Bearer '.length),
    'JWT signature': jwt.split('.')[2] ?? 'missing',
    'invalid JWT': 'not.a.valid-jwt',
    'presigned URL': String(redeem.headers.location),
    'owner URL': owner.json().url,
    'a signature parameter': 'X-Amz-Signature',
    'S3 secret key': s3.secretAccessKey + '"'
  }
  for (const [what, secret] of Object.entries(secrets)) t.notOk(log.includes(secret), `no ${what} in the log`)
})

/** Writes `bytes` on a fresh connection and returns everything the server answered until it closed. */
async function rawExchange (port: number, bytes: string): Promise<string> {
  const socket = connect(port, '127.0.0.1')
  const chunks: Buffer[] = []
  socket.on('data', (chunk: Buffer) => chunks.push(chunk))
  socket.on('error', () => {})
  socket.write(bytes)
  await once(socket, 'close')
  return Buffer.concat(chunks).toString('latin1')
}

const statusOf = (response: string): number => Number(/^HTTP\/1\.1 (\d{3})/.exec(response)?.[1] ?? 0)
const locationOf = (response: string): string => /\r\nlocation: ([^\r]*)/i.exec(response)?.[1] ?? ''

t.test('a real server at LOG_LEVEL=trace: multipart, odd URL forms and malformed requests log no secret', async (t) => {
  const gateway = await startGateway(t, { LOG_LEVEL: 'trace', REDIS_URL: redis.url, REDIS_KEY_PREFIX: `${redis.keyPrefix}gw:`, ...s3Env(s3) })
  const port = Number(new URL(gateway.base).port)
  const authorization = bearer('log-owner')
  const jwt = authorization.slice('Bearer '.length)
  const password = 'correct horse battery staple'
  const answers: string[] = []
  const locations: string[] = []

  const form = new FormData()
  form.append('file', new Blob(['multipart secret plans'], { type: 'text/plain' }), 'plans.txt')
  const up = await fetch(`${gateway.base}/v1/files?share=true`, { method: 'POST', headers: { authorization }, body: form })
  t.equal(up.status, 201, 'a multipart upload with a link')
  const file = await up.json() as { id: string, link: { token: string } }
  const token = file.link.token
  const mint = async (body: object): Promise<string> => {
    const res = await fetch(`${gateway.base}/v1/files/${file.id}/links`, { method: 'POST', headers: { authorization, 'content-type': 'application/json' }, body: JSON.stringify(body) })
    t.equal(res.status, 201)
    return (await res.json() as { token: string }).token
  }
  const protectedToken = await mint({ password })
  const restrictedToken = await mint({ access: 'authenticated' })

  // Each of these redeems: the path names the route however it is spelled.
  const redemptions = [
    `GET /s/${token} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
    `GET /%73/${token} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
    `GET /%73/${token.replace(/[A-Za-z]/, (c) => `%${c.charCodeAt(0).toString(16)}`)} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
    `GET http://127.0.0.1:${port}/s/${token} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
    `GET /s/${token}?fbclid=${token}&utm_source=chat HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
    `GET /s/${protectedToken} HTTP/1.1\r\nHost: x\r\nX-Link-Password: ${password}\r\nConnection: close\r\n\r\n`,
    `GET /s/${restrictedToken} HTTP/1.1\r\nHost: x\r\nAuthorization: ${authorization}\r\nConnection: close\r\n\r\n`
  ]
  for (const request of redemptions) {
    const answer = await rawExchange(port, request)
    t.equal(statusOf(answer), 302, `redeemed: ${request.split(' ')[1]?.slice(0, 12) ?? ''}…`)
    locations.push(locationOf(answer))
    answers.push(answer)
  }
  t.ok(locations.every((l) => l.includes('X-Amz-Signature=')), 'each redirect is a presigned URL')
  const head = await rawExchange(port, `HEAD /%73/${token} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`)
  t.equal(statusOf(head), 200, 'HEAD through an encoded path')
  const owner = await fetch(`${gateway.base}/v1/files/${file.id}/url`, { headers: { authorization } })
  const ownerUrl = (await owner.json() as { url: string }).url

  // Refused, with the secrets somewhere in the bytes.
  const refusals: Array<[string, number, string]> = [
    ['no route', 404, `GET /x/${token} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`],
    ['no route, absolute form', 404, `GET http://127.0.0.1:${port}/s/${token}/more HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`],
    ['no route, encoded twice', 404, `GET /%2573/${token} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`],
    ['a token where an id goes', 400, `GET /v1/files/${token} HTTP/1.1\r\nHost: x\r\nAuthorization: ${authorization}\r\nConnection: close\r\n\r\n`],
    ['a bad URL', 400, `GET /s/${token}%E0%A4%A HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`],
    ['an over-long segment', 414, `GET /s/${token}${'x'.repeat(300)} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`],
    ['an invalid JWT', 401, 'GET /v1/files HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer not.a.valid-jwt\r\nConnection: close\r\n\r\n'],
    ['a malformed header', 400, `GET /s/${token} HTTP/1.1\r\nHost: x\r\nAuthorization: ${authorization}\r\nX-Link-Password: ${password}\r\nno colon here\r\n\r\n`],
    ['oversized headers', 431, `GET /s/${protectedToken} HTTP/1.1\r\nHost: x\r\nAuthorization: ${authorization}\r\nX-Link-Password: ${password}\r\nX-Pad: ${'p'.repeat(20_000)}\r\n\r\n`],
    ['a malformed request line', 400, `GET /s/${token} HTTP/9.9 ${authorization}\r\n\r\n`],
    ['a broken chunked upload', 400, `POST /v1/files?filename=x.txt HTTP/1.1\r\nHost: x\r\nAuthorization: ${authorization}\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nzz ${password}\r\n\r\n`]
  ]
  for (const [what, status, request] of refusals) {
    const answer = await rawExchange(port, request)
    t.equal(statusOf(answer), status, what)
    t.match(answer, /content-type: application\/problem\+json/i, `${what}: a problem`)
    t.match(answer, /"code":"LG_[A-Z_]+"/, `${what}: an LG_ code`)
    answers.push(answer)
  }
  for (const answer of answers) t.notOk(answer.includes('FST_'), 'no framework code in an answer')
  // The broken upload's handler is done once it is audited; then the server may stop.
  await outputLine(gateway, /"event":"file.upload_failed"/)

  gateway.child.kill('SIGTERM')
  await gateway.exited
  const log = gateway.output()
  if (process.env.DUMP_LOG !== undefined) console.error(log)
  const entries = log.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>)
  const incoming = entries.filter((e) => e.msg === 'incoming request').map((e) => (e.req as { url: string }).url)
  t.equal(incoming.filter((url) => url === '/s/[redacted]').length, redemptions.length + 3,
    'every redemption, the HEAD, the bad URL and the over-long segment are logged as /s/[redacted]')
  t.ok(incoming.includes(`/v1/files/${file.id}/links`), 'ids are no secret and stay')
  t.ok(incoming.includes('/v1/files/[redacted]'), 'a token in an id\'s place is masked')
  t.ok(incoming.includes('/x/[redacted]'), 'an unmatched path is logged, token-like runs masked')
  t.ok(entries.some((e) => e.msg === 'Providing options to busboy' && (e.busboyOptions as { headers: unknown }).headers === '[redacted]'), 'the multipart trace line is there, its headers masked')
  for (const code of ['HPE_INVALID_HEADER_TOKEN', 'HPE_HEADER_OVERFLOW']) {
    t.ok(entries.some((e) => e.msg === 'malformed request refused' && e.clientError === code), `the refusal of ${code} is logged`)
  }
  t.equal(entries.filter((e) => e.event === 'link.redeemed').length, redemptions.length, 'each redemption is audited')

  const secrets: Record<string, string> = {
    'share token': token,
    'password link token': protectedToken,
    'restricted link token': restrictedToken,
    JWT: jwt,
    'JWT signature': jwt.split('.')[2] ?? 'missing',
    'invalid JWT': 'not.a.valid-jwt',
    password,
    'owner URL': ownerUrl,
    'a signature parameter': 'X-Amz-Signature',
    'raw request bytes': 'rawPacket',
    'S3 secret key': s3.secretAccessKey + '"'
  }
  locations.forEach((location, i) => { secrets[`presigned URL ${i}`] = location })
  for (const [what, secret] of Object.entries(secrets)) t.notOk(log.includes(secret), `no ${what} in the log`)
})
