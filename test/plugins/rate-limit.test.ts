// Rate limits and the miss guard against a real Redis (shared by instances) and s3rver.
import t from 'tap'
import type { Config } from '../../src/config.js'
import { newToken } from '../../src/domain/tokens.js'
import { buildTestApp, type TestApp } from '../helpers/app.js'
import { restartableRedis, startRedis } from '../helpers/redis.js'
import { startS3 } from '../helpers/s3.js'

const BROWSER = 'text/html,application/xhtml+xml,*/*;q=0.8'
const redis = await startRedis(t)
const s3 = await startS3(t)

const limits = (over: Partial<Config['limits']>): Partial<Config> => ({
  limits: { redeemPerMinute: 1000, redeemMisses: 1000, uploadPerMinute: 1000, apiPerMinute: 1000, authFailures: 100_000, uploadConcurrency: 1000, passwordChecks: 64, failOpen: false, ...over }
})

/** A fresh Redis namespace per test, so that budgets never leak between tests. */
let n = 0
async function gateway (t: Parameters<typeof buildTestApp>[0], config: Partial<Config>, prefix = `${redis.keyPrefix}${++n}:`): Promise<TestApp> {
  return await buildTestApp(t, { redis: { ...redis, keyPrefix: prefix }, s3 }, config)
}

async function share ({ app, auth }: TestApp, options: object = {}): Promise<string> {
  const up = await app.inject({ method: 'POST', url: '/v1/files?filename=a.txt', headers: { authorization: auth('owner'), 'content-type': 'text/plain' }, body: 'a' })
  const link = await app.inject({ method: 'POST', url: `/v1/files/${up.json().id}/links`, headers: { authorization: auth('owner') }, body: options })
  return link.json().token
}

t.test('redemption is limited per client IP, with Retry-After and RateLimit-* headers', async (t) => {
  const gw = await gateway(t, limits({ redeemPerMinute: 3 }))
  const token = await share(gw)
  for (let i = 0; i < 3; i++) t.equal((await gw.app.inject({ url: `/s/${token}` })).statusCode, 302)
  const limited = await gw.app.inject({ url: `/s/${token}` })
  t.equal(limited.statusCode, 429)
  t.match(limited.headers['content-type'], /^application\/problem\+json/)
  t.match(limited.json(), { status: 429, code: 'LG_RATE_LIMITED', detail: /try again in \d+ seconds/ })
  t.ok(Number(limited.headers['retry-after']) > 0 && Number(limited.headers['retry-after']) <= 60)
  t.equal(limited.headers['ratelimit-limit'], '3')
  t.equal(limited.headers['ratelimit-remaining'], '0')
  t.ok(Number(limited.headers['ratelimit-reset']) > 0)
  const page = await gw.app.inject({ url: `/s/${token}`, headers: { accept: BROWSER } })
  t.equal(page.statusCode, 429)
  t.match(page.headers['content-type'], /^text\/html/)
  t.match(page.body, /Too many requests[\s\S]*try again in \d+ seconds/)
  t.equal((await gw.app.inject({ url: `/s/${token}`, remoteAddress: '10.9.8.7' })).statusCode, 302, 'another client is not limited')
})

t.test('GET, HEAD and POST /s/:token spend one shared budget', async (t) => {
  const gw = await gateway(t, limits({ redeemPerMinute: 3 }))
  const token = await share(gw)
  t.equal((await gw.app.inject({ method: 'HEAD', url: `/s/${token}` })).statusCode, 200)
  t.equal((await gw.app.inject({ url: `/s/${token}` })).statusCode, 302)
  t.equal((await gw.app.inject({ method: 'POST', url: `/s/${token}`, headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'nonce=x' })).statusCode, 403, 'a bad form, but counted')
  for (const method of ['HEAD', 'GET', 'POST'] as const) {
    const res = await gw.app.inject({ method, url: `/s/${token}`, headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: method === 'POST' ? 'nonce=x' : undefined })
    t.equal(res.statusCode, 429, `then ${method} is refused`)
  }
})

t.test('without TRUST_PROXY, rotating X-Forwarded-For escapes nothing', async (t) => {
  const gw = await gateway(t, limits({ redeemPerMinute: 2 }))
  const token = await share(gw)
  const codes = []
  for (let i = 0; i < 4; i++) codes.push((await gw.app.inject({ url: `/s/${token}`, headers: { 'x-forwarded-for': `203.0.113.${i}` } })).statusCode)
  t.same(codes, [302, 302, 429, 429])
})

t.test('with TRUST_PROXY, the forwarded client address is the one limited', async (t) => {
  const gw = await gateway(t, { ...limits({ redeemPerMinute: 2 }), trustProxy: true })
  const token = await share(gw)
  const as = async (ip: string): Promise<number> => (await gw.app.inject({ url: `/s/${token}`, headers: { 'x-forwarded-for': ip } })).statusCode
  t.same([await as('203.0.113.1'), await as('203.0.113.1'), await as('203.0.113.1')], [302, 302, 429])
  t.equal(await as('203.0.113.2'), 302, 'a different client behind the proxy has its own budget')
})

t.test('the miss guard: unknown tokens and wrong passwords spend a stricter budget, then even valid tokens get 429', async (t) => {
  const gw = await gateway(t, limits({ redeemMisses: 3 }))
  const token = await share(gw)
  const protectedToken = await share(gw, { password: 'open sesame!' })
  t.equal((await gw.app.inject({ url: `/s/${newToken()}` })).statusCode, 404)
  t.equal((await gw.app.inject({ url: `/s/${newToken()}` })).statusCode, 404)
  t.equal((await gw.app.inject({ url: `/s/${protectedToken}`, headers: { 'x-link-password': 'wrong guess' } })).statusCode, 403)
  const blocked = await gw.app.inject({ url: `/s/${token}` })
  t.equal(blocked.statusCode, 429, 'a valid token is refused for the rest of the window')
  t.ok(Number(blocked.headers['retry-after']) > 60, 'the wait is the miss window, not a minute')
  t.equal((await gw.app.inject({ url: `/s/${token}`, remoteAddress: '10.1.1.1' })).statusCode, 302, 'other clients are unaffected')
})

t.test('the miss guard holds under parallel requests: GET, HEAD and forged forms reserve a miss before they look', async (t) => {
  const gw = await gateway(t, limits({ redeemMisses: 20, redeemPerMinute: 100_000 }))
  const token = await share(gw)
  const tally = (codes: number[]): string => JSON.stringify(codes.reduce<Record<number, number>>((acc, c) => ({ ...acc, [c]: (acc[c] ?? 0) + 1 }), {}))
  const unknown = await Promise.all(Array.from({ length: 100 }, async () => (await gw.app.inject({ url: `/s/${newToken()}`, remoteAddress: '192.0.2.50' })).statusCode))
  t.equal(tally(unknown), '{"404":20,"429":80}', 'exactly twenty unknown tokens looked up')
  const probes = await Promise.all(Array.from({ length: 60 }, async () => (await gw.app.inject({ method: 'HEAD', url: `/s/${newToken()}`, remoteAddress: '192.0.2.51' })).statusCode))
  t.equal(tally(probes), '{"404":20,"429":40}', 'HEAD probes too')
  const forms = await Promise.all(Array.from({ length: 60 }, async () => (await gw.app.inject({ method: 'POST', url: `/s/${token}`, remoteAddress: '192.0.2.52', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'nonce=1.forged' })).statusCode))
  t.equal(tally(forms), '{"403":20,"429":40}', 'forged forms too')
  const hits = await Promise.all(Array.from({ length: 100 }, async () => (await gw.app.inject({ url: `/s/${token}`, remoteAddress: '192.0.2.53' })).statusCode))
  t.equal(tally(hits), '{"302":100}', 'a live link is no miss: a hundred parallel redemptions from one client spend none')
  t.equal((await gw.app.inject({ url: `/s/${newToken()}`, remoteAddress: '192.0.2.53' })).statusCode, 404, 'its misses are all still there')
})

t.test('wrong passwords also count per link: a distributed guess is slowed too', async (t) => {
  const gw = await gateway(t, { ...limits({ redeemMisses: 3 }), trustProxy: true })
  const token = await share(gw, { password: 'the real password' })
  const guess = async (ip: string, password: string): Promise<number> =>
    (await gw.app.inject({ url: `/s/${token}`, headers: { 'x-forwarded-for': ip, 'x-link-password': password } })).statusCode
  t.same([await guess('198.51.100.1', 'guess one'), await guess('198.51.100.2', 'guess two'), await guess('198.51.100.3', 'guess three')], [403, 403, 403])
  t.equal(await guess('198.51.100.4', 'the real password'), 429, 'a fresh address gets nowhere with this link for now')
})

t.test('uploads and API calls are limited per user', async (t) => {
  const gw = await gateway(t, limits({ uploadPerMinute: 2, apiPerMinute: 2 }))
  const upload = async (sub: string): Promise<number> =>
    (await gw.app.inject({ method: 'POST', url: '/v1/files?filename=x', headers: { authorization: gw.auth(sub), 'content-type': 'text/plain' }, body: 'x' })).statusCode
  t.same([await upload('alice'), await upload('alice'), await upload('alice')], [201, 201, 429])
  t.equal(await upload('bob'), 201, 'per user, not per address')
  const list = async (sub: string): Promise<number> => (await gw.app.inject({ url: '/v1/files', headers: { authorization: gw.auth(sub) } })).statusCode
  t.same([await list('alice'), await list('alice'), await list('alice')], [200, 200, 429])
  t.equal(await list('bob'), 200)
})

t.test('API_RATE_LIMIT is one budget per user across every /v1 route but uploads', async (t) => {
  const gw = await gateway(t, limits({ apiPerMinute: 4 }))
  const up = await gw.app.inject({ method: 'POST', url: '/v1/files?filename=x', headers: { authorization: gw.auth('alice'), 'content-type': 'text/plain' }, body: 'x' })
  t.equal(up.statusCode, 201, 'an upload spends the upload budget, not this one')
  const id: string = up.json().id
  const routes = ['/v1/files', '/v1/links', `/v1/files/${id}`, `/v1/files/${id}/url`, '/v1/files']
  const codes = []
  for (const url of routes) codes.push((await gw.app.inject({ url, headers: { authorization: gw.auth('alice') } })).statusCode)
  t.same(codes, [200, 200, 200, 200, 429], 'four calls over four routes spend the four of the minute')
  const created = await gw.app.inject({ method: 'POST', url: `/v1/files/${id}/links`, headers: { authorization: gw.auth('alice') }, body: {} })
  t.equal(created.statusCode, 429, 'a fifth route is refused too')
  t.equal((await gw.app.inject({ url: '/v1/links', headers: { authorization: gw.auth('bob') } })).statusCode, 200, 'per user')
})

t.test('failed authentications are limited per client IP; valid tokens are not spent on', async (t) => {
  const gw = await gateway(t, limits({ authFailures: 3 }))
  let audited = 0
  gw.app.auditEvents.on('event', (e) => { if (e.event === 'auth.failed') audited++ })
  const bad = async (ip: string): Promise<number> =>
    (await gw.app.inject({ url: '/v1/files', headers: { authorization: 'Bearer not-a-jwt' }, remoteAddress: ip })).statusCode
  const codes = await Promise.all(Array.from({ length: 10 }, async () => await bad('192.0.2.10')))
  t.same([codes.filter((c) => c === 401).length, codes.filter((c) => c === 429).length], [3, 7], 'in parallel too: three 401s, then 429s')
  t.equal(audited, 3, 'only the counted failures are audited: a flood is not a line a request')
  const refused = await gw.app.inject({ url: '/v1/links', remoteAddress: '192.0.2.10' })
  t.equal(refused.statusCode, 429, 'a missing token is a failure too')
  t.ok(Number(refused.headers['retry-after']) > 60, 'for the rest of the ten-minute window')
  t.equal(await bad('192.0.2.11'), 401, 'another client is not limited')
  const good = await gw.app.inject({ url: '/v1/files', headers: { authorization: gw.auth('alice') }, remoteAddress: '192.0.2.10' })
  t.equal(good.statusCode, 200, 'a valid token from the limited address still works')
})

t.test('auth failures are one budget per client, whatever the route: uploads, /metrics and restricted links count too', async (t) => {
  const gw = await gateway(t, { ...limits({ authFailures: 4 }), metricsToken: 'the-metrics-token-0123456789' })
  const restricted = await share(gw, { access: 'authenticated' })
  const from = '192.0.2.60'
  const codes = [
    (await gw.app.inject({ url: '/v1/files', headers: { authorization: 'Bearer x.y.z' }, remoteAddress: from })).statusCode,
    (await gw.app.inject({ method: 'POST', url: '/v1/files', headers: { authorization: 'Bearer x.y.z' }, remoteAddress: from })).statusCode,
    (await gw.app.inject({ url: '/metrics', headers: { authorization: 'Bearer wrong' }, remoteAddress: from })).statusCode,
    (await gw.app.inject({ url: `/s/${restricted}`, headers: { authorization: 'Bearer x.y.z' }, remoteAddress: from })).statusCode,
    (await gw.app.inject({ method: 'POST', url: '/v1/files', headers: { authorization: 'Bearer x.y.z' }, remoteAddress: from })).statusCode,
    (await gw.app.inject({ url: '/metrics', headers: { authorization: 'Bearer wrong' }, remoteAddress: from })).statusCode
  ]
  t.same(codes, [401, 401, 401, 401, 429, 429])
})

t.test('an IPv6 client is its /64, and an address is one client however it is spelt', async (t) => {
  const gw = await gateway(t, limits({ redeemPerMinute: 2 }))
  const token = await share(gw)
  const from = async (ip: string): Promise<number> => (await gw.app.inject({ url: `/s/${token}`, remoteAddress: ip })).statusCode
  t.same([await from('2001:db8:5:6::1'), await from('2001:db8:5:6:ffff::2'), await from('2001:DB8:5:6:0:0:0:3')], [302, 302, 429], 'one /64, one budget')
  t.equal(await from('2001:db8:5:7::1'), 302, 'the next /64 is another client')
  t.same([await from('198.51.100.70'), await from('::ffff:198.51.100.70'), await from('::ffff:198.51.100.70')], [302, 302, 429], 'IPv4-mapped is the IPv4 client')
})

t.test('two instances on one Redis share one budget', async (t) => {
  const prefix = `${redis.keyPrefix}shared:`
  const a = await gateway(t, limits({ redeemPerMinute: 3 }), prefix)
  const b = await gateway(t, limits({ redeemPerMinute: 3 }), prefix)
  const token = await share(a)
  const codes = []
  for (const gw of [a, b, a, b]) codes.push((await gw.app.inject({ url: `/s/${token}` })).statusCode)
  t.same(codes, [302, 302, 302, 429])
})

t.test('rate-limited redemptions are audited as link.denied rate_limited', async (t) => {
  const gw = await gateway(t, limits({ redeemPerMinute: 1 }))
  const token = await share(gw)
  const reasons: Array<string | null> = []
  gw.app.auditEvents.on('event', (e) => { if (e.event === 'link.denied') reasons.push(e.reason) })
  await gw.app.inject({ url: `/s/${token}` })
  await gw.app.inject({ url: `/s/${token}` })
  t.same(reasons, ['rate_limited'])
})

t.test('when the limiter\'s store is down, redemption fails closed with a fast 503', async (t) => {
  const own = await restartableRedis(t)
  const gw = await buildTestApp(t, { redis: { url: own.url, keyPrefix: 'lg:', stop: own.stop }, s3 }, limits({}))
  const token = await share(gw)
  t.equal((await gw.app.inject({ url: `/s/${token}` })).statusCode, 302)
  await own.stop()
  const started = Date.now()
  const res = await gw.app.inject({ url: `/s/${token}` })
  t.equal(res.statusCode, 503)
  t.match(res.json(), { code: 'LG_DEPENDENCY_UNAVAILABLE' })
  t.ok(Date.now() - started < 1000, 'within a second')
})
