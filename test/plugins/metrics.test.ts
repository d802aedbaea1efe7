// GET /metrics against a real Redis and s3rver: what a little traffic leaves in the
// Prometheus text, that no share token ever reaches it, and the METRICS_TOKEN guard.
import { randomBytes } from 'node:crypto'
import t from 'tap'
import { newToken } from '../../src/domain/tokens.js'
import { HttpError } from '../../src/errors.js'
import { buildTestApp } from '../helpers/app.js'
import { startRedis } from '../helpers/redis.js'
import { startS3 } from '../helpers/s3.js'

const PROMETHEUS_TYPE = 'text/plain; version=0.0.4; charset=utf-8'

interface Sample { name: string, labels: Record<string, string>, value: number }

/** The samples of a Prometheus text exposition (comments skipped). */
function parse (text: string): Sample[] {
  const samples: Sample[] = []
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line)
    if (match === null) throw new Error(`not a sample line: ${line}`)
    const labels: Record<string, string> = {}
    for (const [, key, value] of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[key as string] = value as string
    samples.push({ name: match[1] as string, labels, value: Number(match[3]) })
  }
  return samples
}

/** The values of `name` whose labels include `labels`. */
function values (samples: Sample[], name: string, labels: Record<string, string> = {}): number[] {
  return samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)).map((s) => s.value)
}

const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0)

t.test('after some traffic, /metrics shows requests, redemptions, uploads, rate limits, Redis and S3', async (t) => {
  const redis = await startRedis(t)
  const s3 = await startS3(t)
  const { app, auth } = await buildTestApp(t, {
    redis,
    s3,
    // A route of the test's own answers 429, whatever the rate-limit budgets are.
    setup: (app) => { app.get('/test/limited', async () => { throw new HttpError(429, 'LG_RATE_LIMITED', 'Too many requests') }) }
  })

  const data = randomBytes(12_345)
  const upload = await app.inject({
    method: 'POST',
    url: '/v1/files?filename=data.bin&share=true',
    headers: { authorization: auth('alice'), 'content-type': 'application/octet-stream' },
    body: data
  })
  t.equal(upload.statusCode, 201, upload.body)
  const token: string = upload.json().link.token
  const redeemed = await app.inject({ url: `/s/${token}` })
  t.equal(redeemed.statusCode, 302)
  const unknown = newToken()
  t.equal((await app.inject({ url: `/s/${unknown}` })).statusCode, 404)
  t.equal((await app.inject({ url: '/v1/files', headers: { authorization: 'Bearer not.a.jwt' } })).statusCode, 401)
  t.equal((await app.inject({ url: `/no/such/route/${unknown}` })).statusCode, 404)
  t.equal((await app.inject({ url: '/test/limited' })).statusCode, 429)
  // Link histories are written within a second: now, so that the call is counted.
  await app.flushAudit()

  const res = await app.inject({ url: '/metrics' })
  t.equal(res.statusCode, 200)
  t.equal(res.headers['content-type'], PROMETHEUS_TYPE)
  const text = res.body
  const samples = parse(text)

  t.test('no share token, nor any raw path, anywhere in the output', async (t) => {
    t.notOk(text.includes(token), 'the redeemed token is absent')
    t.notOk(text.includes(unknown), 'the unknown token is absent')
    t.notOk(text.includes('/no/such/route'), 'an unmatched path is absent')
    const routes = new Set(samples.map((s) => s.labels.route).filter((r) => r !== undefined))
    t.same([...routes].filter((r) => r.startsWith('/s/')), ['/s/:token'], 'only the pattern of the share route')
  })

  t.test('the request histogram, by method, route pattern and status code', async (t) => {
    const count = (labels: Record<string, string>): number => sum(values(samples, 'linkgate_http_request_duration_seconds_count', labels))
    t.equal(count({ method: 'GET', route: '/s/:token', status_code: '302' }), 1)
    t.equal(count({ method: 'GET', route: '/s/:token', status_code: '404' }), 1)
    t.equal(count({ method: 'POST', route: '/v1/files', status_code: '201' }), 1)
    t.equal(count({ method: 'GET', route: '/v1/files', status_code: '401' }), 1)
    t.equal(count({ method: 'GET', route: 'unmatched', status_code: '404' }), 1)
    const inf = values(samples, 'linkgate_http_request_duration_seconds_bucket', { method: 'GET', route: '/s/:token', status_code: '302', le: '+Inf' })
    t.same(inf, [1], 'the +Inf bucket holds the one redemption')
    t.ok(sum(values(samples, 'linkgate_http_request_duration_seconds_sum', { route: '/v1/files', method: 'POST' })) > 0, 'the upload took some time')
  })

  t.test('redemptions by outcome', async (t) => {
    t.same(values(samples, 'linkgate_redemptions_total', { outcome: 'redeemed' }), [1])
    t.same(values(samples, 'linkgate_redemptions_total', { outcome: 'not_found' }), [1])
    t.equal(sum(values(samples, 'linkgate_redemptions_total')), 2, 'nothing else was counted')
  })

  t.test('upload bytes and duration', async (t) => {
    t.same(values(samples, 'linkgate_upload_bytes_total', { outcome: 'success' }), [data.length])
    t.same(values(samples, 'linkgate_upload_bytes_total', { outcome: 'failure' }), [], 'no failed upload')
    t.same(values(samples, 'linkgate_upload_duration_seconds_count', { outcome: 'success' }), [1])
  })

  t.test('429s by route', async (t) => {
    t.same(values(samples, 'linkgate_rate_limited_total', { route: '/test/limited' }), [1])
    t.equal(sum(values(samples, 'linkgate_rate_limited_total')), 1)
  })

  t.test('LinkStore call latency, by operation', async (t) => {
    const count = (operation: string): number => sum(values(samples, 'linkgate_link_store_duration_seconds_count', { operation }))
    t.equal(count('redeem'), 2, 'the two redemptions')
    t.ok(count('putFile') >= 1, 'the upload stored its file')
    t.ok(count('createLink') >= 1, 'and its link')
    t.ok(count('appendEvents') >= 1, 'the link\'s history was written')
    for (const s of samples.filter((s) => s.name === 'linkgate_link_store_duration_seconds_count')) {
      t.match(s.labels.operation, /^[a-zA-Z]+$/, 'labelled with the method name only')
    }
    t.ok(sum(values(samples, 'linkgate_link_store_duration_seconds_sum', { operation: 'redeem' })) > 0, 'and took some time')
  })

  t.test('S3 request latency, by operation; presigning is not a request', async (t) => {
    t.ok(sum(values(samples, 'linkgate_s3_request_duration_seconds_count', { operation: 'PutObject' })) >= 1, 'the upload\'s PutObject was timed')
    t.same(values(samples, 'linkgate_s3_request_duration_seconds_count', { operation: 'GetObject' }), [], 'the presigned GetObject sent nothing')
  })

  t.test('process metrics are there too', async (t) => {
    t.equal(values(samples, 'process_cpu_user_seconds_total').length, 1)
    t.equal(values(samples, 'nodejs_eventloop_lag_seconds').length, 1)
  })
})

t.test('with METRICS_TOKEN, /metrics wants it as a bearer token', async (t) => {
  const metricsToken = 'metrics-token-' + randomBytes(16).toString('hex')
  const { app } = await buildTestApp(t, {}, { metricsToken })
  const cases: Array<[string, Record<string, string>]> = [
    ['no Authorization', {}],
    ['a wrong token of the same length', { authorization: `Bearer ${'x'.repeat(metricsToken.length)}` }],
    ['a prefix of the token', { authorization: `Bearer ${metricsToken.slice(0, -1)}` }],
    ['the token with more after it', { authorization: `Bearer ${metricsToken}x` }],
    ['the token, not as a bearer', { authorization: metricsToken }],
    ['an API JWT', { authorization: `Bearer ${app.jwt.sign({ sub: 'alice' }, { expiresIn: '1h' })}` }]
  ]
  for (const [name, headers] of cases) {
    const res = await app.inject({ url: '/metrics', headers })
    t.equal(res.statusCode, 401, name)
    t.match(res.headers['content-type'], /^application\/problem\+json/, name)
    t.match(res.json(), { status: 401, code: 'LG_UNAUTHENTICATED' }, name)
    t.notOk(res.body.includes('linkgate_'), `${name}: no metrics`)
  }
  const ok = await app.inject({ url: '/metrics', headers: { authorization: `Bearer ${metricsToken}` } })
  t.equal(ok.statusCode, 200)
  t.equal(ok.headers['content-type'], PROMETHEUS_TYPE)
  const samples = parse(ok.body)
  t.same(values(samples, 'linkgate_http_request_duration_seconds_count', { route: '/metrics', status_code: '401' }), [cases.length], 'the refusals are measured')
  t.same(values(samples, 'linkgate_redemptions_total'), [], 'a registry of its own: the other app\'s redemptions are not here')
})

t.test('without METRICS_TOKEN, /metrics is open', async (t) => {
  const { app } = await buildTestApp(t)
  const res = await app.inject({ url: '/metrics' })
  t.equal(res.statusCode, 200)
  t.match(res.body, /^# HELP linkgate_http_request_duration_seconds /m)
})
