// Three gateway processes (the compiled server, as `npm start` runs it) on one Redis and
// one s3rver: links, download counts and rate limits are the same whichever instance a
// request reaches. Runs dist/src/server.js (npm test builds it first, see "pretest").
import t, { type Test } from 'tap'
import { bearer, type Gateway, s3Env, startGateway } from '../helpers/gateway.js'
import { startRedis, type TestRedis } from '../helpers/redis.js'
import { startS3, type TestS3 } from '../helpers/s3.js'

function dependencyEnv (redis: TestRedis, keyPrefix: string, s3: TestS3): Record<string, string> {
  return { REDIS_URL: redis.url, REDIS_KEY_PREFIX: keyPrefix, ...s3Env(s3), PUBLIC_URL: 'http://gateway.test' }
}

async function startTrio (t: Test, env: Record<string, string>): Promise<[Gateway, Gateway, Gateway]> {
  const started = Date.now()
  const [a, b, c] = await Promise.all([startGateway(t, env), startGateway(t, env), startGateway(t, env)])
  t.comment(`three processes listening after ${Date.now() - started} ms`)
  return [a, b, c]
}

const authorization = bearer('instances')

/** Uploads `content` through `gw` and mints a link with `options` there; returns the link. */
async function share (gw: Gateway, content: string, options: object = {}): Promise<{ id: string, token: string }> {
  const up = await fetch(`${gw.base}/v1/files?filename=shared.txt`, { method: 'POST', headers: { authorization, 'content-type': 'text/plain' }, body: content })
  if (up.status !== 201) throw new Error(`upload answered ${up.status}: ${await up.text()}`)
  const file = await up.json() as { id: string }
  const res = await fetch(`${gw.base}/v1/files/${file.id}/links`, { method: 'POST', headers: { authorization, 'content-type': 'application/json' }, body: JSON.stringify(options) })
  if (res.status !== 201) throw new Error(`link creation answered ${res.status}: ${await res.text()}`)
  return await res.json() as { id: string, token: string }
}

async function redeem (gw: Gateway, token: string): Promise<Response> {
  const res = await fetch(`${gw.base}/s/${token}`, { redirect: 'manual' })
  await res.body?.cancel()
  return res
}

const redis = await startRedis(t)
const s3 = await startS3(t)

t.test('one Redis, one bucket, three processes', async (t) => {
  const gateways = await startTrio(t, { ...dependencyEnv(redis, `${redis.keyPrefix}shared:`, s3), REDEEM_RATE_LIMIT: '100000' })
  const [one, two, three] = gateways

  t.test('created on the first, redeemed on the second, revoked through the third, then gone everywhere', async (t) => {
    const link = await share(one, 'bytes behind a link')
    const res = await redeem(two, link.token)
    t.equal(res.status, 302, 'redeemed on another instance')
    const location = res.headers.get('location') ?? ''
    t.ok(location.startsWith(`${s3.endpoint}/${s3.bucket}/files/`), 'a presigned URL on the object store')
    const object = await fetch(location)
    t.equal(await object.text(), 'bytes behind a link', 'the URL minted by the second instance serves what the first stored')

    const head = await fetch(`${three.base}/s/${link.token}`, { method: 'HEAD' })
    t.equal(head.status, 200, 'live on the third')
    const revoked = await fetch(`${three.base}/v1/links/${link.id}`, { method: 'DELETE', headers: { authorization } })
    t.equal(revoked.status, 204, 'revoked through the third')

    t.same(await Promise.all(gateways.map(async (gw) => (await redeem(gw, link.token)).status)), [404, 404, 404], '404 on all three')
    const view = await fetch(`${one.base}/v1/links/${link.id}`, { headers: { authorization } })
    t.match(await view.json(), { status: 'revoked', downloads: 1 }, 'the first sees the revocation')
  })

  t.test('300 concurrent redemptions of a 7-download link over three instances: exactly 7 redirects', async (t) => {
    const link = await share(one, 'seven times', { maxDownloads: 7 })
    const started = Date.now()
    const results = await Promise.all(Array.from({ length: 300 }, async (_, i) => {
      try {
        return (await redeem(gateways[i % 3] as Gateway, link.token)).status
      } catch (err) {
        return `${(err as Error).message} (${String((err as { cause?: unknown }).cause)})`
      }
    }))
    t.comment(`300 concurrent redemptions over 3 processes: ${Date.now() - started} ms`)
    const count = (status: number | string): number => results.filter((s) => s === status).length
    t.equal(count(302), 7, 'exactly maxDownloads redirects')
    t.equal(count(404), 293, 'every other request is a 404')
    t.same(results.filter((s) => typeof s !== 'number' || s >= 500), [], 'no 5xx and no transport error')
    const perInstance = [0, 1, 2].map((n) => results.filter((s, i) => s === 302 && i % 3 === n).length)
    t.comment(`redirects per instance: ${perInstance.join(', ')}`)

    const view = await fetch(`${three.base}/v1/links/${link.id}`, { headers: { authorization } })
    t.match(await view.json(), { status: 'exhausted', downloads: 7, maxDownloads: 7 })
  })
})

t.test('one client\'s redemption budget is shared by all three (REDEEM_RATE_LIMIT=5)', async (t) => {
  // A key prefix of its own: the redemptions of the other test spent 127.0.0.1's budget there.
  const gateways = await startTrio(t, { ...dependencyEnv(redis, `${redis.keyPrefix}limited:`, s3), REDEEM_RATE_LIMIT: '5' })
  const link = await share(gateways[0], 'rate limited')

  const results = await Promise.all(Array.from({ length: 30 }, async (_, i) => await redeem(gateways[i % 3] as Gateway, link.token)))
  const statuses = results.map((r) => r.status)
  t.equal(statuses.filter((s) => s === 302).length, 5, '5 redirects in all, across the three')
  t.equal(statuses.filter((s) => s === 429).length, 25, 'the rest are 429')

  for (const [n, gw] of gateways.entries()) {
    const res = await fetch(`${gw.base}/s/${link.token}`, { redirect: 'manual' })
    t.equal(res.status, 429, `instance ${n + 1} refuses too`)
    t.ok(Number(res.headers.get('retry-after')) > 0, 'with Retry-After')
    t.equal(res.headers.get('ratelimit-limit'), '5')
    t.match(await res.json(), { code: 'LG_RATE_LIMITED' })
  }
})
