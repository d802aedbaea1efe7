// Anyone holding a link can send it refused requests; none of them may push the owner's
// view of the link (its creation, its redemptions) out of its history, and forged or
// expired form nonces are guesses: they count as misses. A gateway process (the compiled
// server) on a real Redis and s3rver.
import t from 'tap'
import { bearer, type Gateway, s3Env, startGateway } from '../helpers/gateway.js'
import { startRedis } from '../helpers/redis.js'
import { startS3 } from '../helpers/s3.js'

const authorization = bearer('owner')

const redis = await startRedis(t)
const s3 = await startS3(t)
let n = 0
async function gateway (env: Record<string, string>): Promise<Gateway> {
  return await startGateway(t, { REDIS_URL: redis.url, REDIS_KEY_PREFIX: `${redis.keyPrefix}${++n}:`, ...s3Env(s3), TRUST_PROXY: 'true', REDEEM_RATE_LIMIT: '100000', API_RATE_LIMIT: '100000', ...env })
}

async function share (gw: Gateway): Promise<{ id: string, token: string }> {
  const up = await fetch(`${gw.base}/v1/files?filename=h.txt&share=true&maxDownloads=5`, { method: 'POST', headers: { authorization, 'content-type': 'text/plain' }, body: 'history' })
  if (up.status !== 201) throw new Error(`upload answered ${up.status}: ${await up.text()}`)
  return (await up.json() as { link: { id: string, token: string } }).link
}

async function forgedPost (gw: Gateway, token: string, ip: string): Promise<number> {
  const res = await fetch(`${gw.base}/s/${token}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': ip }, body: 'nonce=9999999999999.forged' })
  await res.body?.cancel()
  return res.status
}

t.test('1,000 forged form posts: the link\'s creation and its redemption are still in its history', async (t) => {
  const gw = await gateway({ REDEEM_MISS_LIMIT: '100000' })
  const link = await share(gw)
  const redeemed = await fetch(`${gw.base}/s/${link.token}`, { redirect: 'manual', headers: { 'user-agent': 'curl/8.5.0' } })
  t.equal(redeemed.status, 302)
  for (let batch = 0; batch < 10; batch++) {
    const codes = await Promise.all(Array.from({ length: 100 }, async (_, i) => await forgedPost(gw, link.token, `198.51.${batch}.${i}`)))
    t.ok(codes.every((c) => c === 403), `batch ${batch}: refused`)
  }
  const res = await fetch(`${gw.base}/v1/links/${link.id}/events?limit=1000`, { headers: { authorization } })
  const items = (await res.json() as { items: Array<{ event: string, reason: string | null }> }).items
  t.equal(items.length, 1000)
  t.strictSame(items.slice(-2).map((e) => e.event), ['link.redeemed', 'link.created'], 'the lifecycle is shown (the oldest events), not pushed out')
  t.ok(items.slice(0, -2).every((e) => e.event === 'link.denied' && e.reason === 'bad_form'), 'the rest are the refusals, as bad_form')
})

t.test('forged nonces are misses: past REDEEM_MISS_LIMIT the client is refused even a valid redemption', async (t) => {
  const gw = await gateway({ REDEEM_MISS_LIMIT: '3' })
  const link = await share(gw)
  const codes = []
  for (let i = 0; i < 3; i++) codes.push(await forgedPost(gw, link.token, '203.0.113.9'))
  t.strictSame(codes, [403, 403, 403])
  const res = await fetch(`${gw.base}/s/${link.token}`, { redirect: 'manual', headers: { 'x-forwarded-for': '203.0.113.9', 'user-agent': 'curl/8.5.0' } })
  t.equal(res.status, 429)
  const other = await fetch(`${gw.base}/s/${link.token}`, { redirect: 'manual', headers: { 'x-forwarded-for': '203.0.113.10', 'user-agent': 'curl/8.5.0' } })
  t.equal(other.status, 302, 'another client is not')
})
