// No secret reaches the log: share tokens, JWTs, presigned URLs and their signatures.
import { readFile } from 'node:fs/promises'
import { Writable } from 'node:stream'
import t from 'tap'
import { loggerOptions } from '../src/logger.js'
import { buildTestApp } from './helpers/app.js'
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
