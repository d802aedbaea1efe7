// Guessing link passwords in parallel, against gateway processes (the compiled server) on a
// real Redis and s3rver: every guess spends its miss before scrypt runs, so no number of
// parallel guesses checks more than REDEEM_MISS_LIMIT, per client and per link; password
// checks running at once are bounded and the rest refused at once; and a password sent in
// X-Link-Password as UTF-8 (curl) or latin1 (a browser's fetch) works as in the form.
import t from 'tap'
import { bearer, type Gateway, s3Env, startGateway } from '../helpers/gateway.js'
import { startRedis } from '../helpers/redis.js'
import { startS3 } from '../helpers/s3.js'

const authorization = bearer('owner')

const redis = await startRedis(t)
const s3 = await startS3(t)
let n = 0
async function gateway (env: Record<string, string>): Promise<Gateway> {
  return await startGateway(t, {
    REDIS_URL: redis.url,
    REDIS_KEY_PREFIX: `${redis.keyPrefix}${++n}:`,
    ...s3Env(s3),
    TRUST_PROXY: 'true',
    REDEEM_RATE_LIMIT: '100000',
    UPLOAD_RATE_LIMIT: '100000',
    UPLOAD_CONCURRENCY: '100',
    API_RATE_LIMIT: '100000',
    ...env
  })
}

async function passwordLink (gw: Gateway, password: string): Promise<string> {
  const up = await fetch(`${gw.base}/v1/files?filename=secret.txt`, { method: 'POST', headers: { authorization, 'content-type': 'text/plain' }, body: 'secret' })
  if (up.status !== 201) throw new Error(`upload answered ${up.status}: ${await up.text()}`)
  const { id } = await up.json() as { id: string }
  const res = await fetch(`${gw.base}/v1/files/${id}/links`, { method: 'POST', headers: { authorization, 'content-type': 'application/json' }, body: JSON.stringify({ password }) })
  if (res.status !== 201) throw new Error(`link creation answered ${res.status}: ${await res.text()}`)
  return (await res.json() as { token: string }).token
}

/** A guess with curl's user agent (an API client), from `ip` (TRUST_PROXY is on). */
async function guess (gw: Gateway, token: string, password: string, ip: string): Promise<number> {
  const res = await fetch(`${gw.base}/s/${token}`, { redirect: 'manual', headers: { 'x-link-password': password, 'x-forwarded-for': ip, 'user-agent': 'curl/8.5.0' } })
  await res.body?.cancel()
  return res.status
}

const tally = (codes: number[]): Record<number, number> => codes.reduce<Record<number, number>>((acc, c) => ({ ...acc, [c]: (acc[c] ?? 0) + 1 }), {})

t.test('50 simultaneous wrong passwords from one client: exactly REDEEM_MISS_LIMIT are checked', async (t) => {
  const gw = await gateway({ REDEEM_MISS_LIMIT: '20', PASSWORD_CHECK_CONCURRENCY: '64' })
  // One guess per link, so that only the client's own budget can stop them.
  const tokens = await Promise.all(Array.from({ length: 50 }, async () => await passwordLink(gw, 'the real password')))
  const codes = await Promise.all(tokens.map(async (token, i) => await guess(gw, token, `wrong guess ${i}`, '198.51.100.7')))
  t.strictSame(tally(codes), { 403: 20, 429: 30 }, 'twenty wrong answers, thirty refusals before any check')
  t.equal(await guess(gw, tokens[0] ?? '', 'the real password', '198.51.100.7'), 429, 'the client is out of guesses, even with the right one')
  t.equal(await guess(gw, tokens[0] ?? '', 'the real password', '198.51.100.8'), 302, 'another client is not')
})

t.test('20 clients × 20 guesses at one link: the link\'s own budget checks exactly REDEEM_MISS_LIMIT', async (t) => {
  const gw = await gateway({ REDEEM_MISS_LIMIT: '20', PASSWORD_CHECK_CONCURRENCY: '64' })
  const token = await passwordLink(gw, 'the real password')
  const codes = await Promise.all(Array.from({ length: 400 }, async (_, i) => await guess(gw, token, `guess ${i}`, `203.0.113.${i % 20}`)))
  // 429s come from the link's budget or, while 32 checks run, from the bound on them.
  t.equal(tally(codes)[403], 20, `exactly twenty checked (${JSON.stringify(tally(codes))})`)
  t.equal(codes.filter((c) => c !== 403 && c !== 429).length, 0, 'every other guess was refused')
  t.equal(await guess(gw, token, 'the real password', '192.0.2.99'), 429, 'the link takes no more guesses for now, from anyone')
})

t.test('a right password gives its reserved miss back', async (t) => {
  const gw = await gateway({ REDEEM_MISS_LIMIT: '3' })
  const token = await passwordLink(gw, 'the real password')
  const codes = []
  for (let i = 0; i < 6; i++) codes.push(await guess(gw, token, 'the real password', '198.51.100.20'))
  t.strictSame(codes, [302, 302, 302, 302, 302, 302], 'right answers never run out')
  codes.length = 0
  for (let i = 0; i < 4; i++) codes.push(await guess(gw, token, 'wrong', '198.51.100.21'))
  t.strictSame(codes, [403, 403, 403, 429])
})

t.test('password checks at once are bounded: the rest are refused at once, not queued', async (t) => {
  const gw = await gateway({ REDEEM_MISS_LIMIT: '1000', PASSWORD_CHECK_CONCURRENCY: '2' })
  const token = await passwordLink(gw, 'the real password')
  // One link may hold one of the two checks: a burst at it runs one check at a time.
  const codes = await Promise.all(Array.from({ length: 12 }, async (_, i) => await guess(gw, token, 'the real password', `198.51.100.${40 + i}`)))
  const counts = tally(codes)
  t.ok((counts[302] ?? 0) >= 1 && (counts[429] ?? 0) >= 1, `some checked, some refused (${JSON.stringify(counts)})`)
  t.equal((counts[302] ?? 0) + (counts[429] ?? 0), 12)
  // Another link still gets the other check while this one is busy.
  const other = await passwordLink(gw, 'another password')
  const [a, b] = await Promise.all([guess(gw, token, 'the real password', '198.51.100.60'), guess(gw, other, 'another password', '198.51.100.61')])
  t.ok(a === 302 || a === 429)
  t.equal(b, 302, 'a busy link does not take the other link\'s check')
})

t.test('X-Link-Password is UTF-8 as curl sends it, and latin1 as a browser\'s fetch sends it', async (t) => {
  const gw = await gateway({})
  const password = 'pässwörd-ünïcode'
  const token = await passwordLink(gw, password)
  const asBytes = (bytes: Buffer): string => bytes.toString('latin1')
  t.equal(await guess(gw, token, asBytes(Buffer.from(password, 'utf8')), '198.51.100.80'), 302, 'UTF-8 bytes (curl -H)')
  t.equal(await guess(gw, token, asBytes(Buffer.from(password, 'latin1')), '198.51.100.81'), 302, 'latin1 bytes (fetch)')
  t.equal(await guess(gw, token, asBytes(Buffer.from('passwörd-ünïcode', 'utf8')), '198.51.100.82'), 403, 'and a wrong one is still wrong')
  const beyondLatin1 = '密码-pässwörd'
  const wide = await passwordLink(gw, beyondLatin1)
  t.equal(await guess(gw, wide, asBytes(Buffer.from(beyondLatin1, 'utf8')), '198.51.100.83'), 302, 'characters latin1 cannot hold')
  const longest = '€'.repeat(256)
  const long = await passwordLink(gw, longest)
  t.equal(await guess(gw, long, asBytes(Buffer.from(longest, 'utf8')), '198.51.100.84'), 302, 'the longest password a link takes (768 bytes) fits in the header')
})
