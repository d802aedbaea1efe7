// Redis Cluster (three masters, no replicas): the store contracts on the client the
// gateway makes, then the HTTP flows through buildTestApp with s3rver: links, the race
// for a limited link, revocation, rate limits, deleting a file, metrics.
import { Cluster } from 'ioredis'
import t, { type Test } from 'tap'
import { createRedisClient } from '../../plugins/redis.js'
import type { Config, RedisConfig } from '../../src/config.js'
import { newToken } from '../../src/domain/tokens.js'
import { RedisStore } from '../../src/stores/redis-store.js'
import { buildTestApp, type TestApp } from '../helpers/app.js'
import { startRedisCluster } from '../helpers/redis.js'
import { startS3 } from '../helpers/s3.js'
import { budgetStoreContract } from '../stores/budget-store-contract.js'
import { linkHistoryContract } from '../stores/link-history-contract.js'
import { linkStoreContract } from '../stores/link-store-contract.js'

const cluster = await startRedisCluster(t)
const s3 = await startS3(t)

/** A key prefix of its own per client or app, so that no test sees another's keys or budgets. */
let n = 0
const redisConfig = (): RedisConfig => ({ topology: 'cluster', nodes: cluster.nodes, url: null, keyPrefix: `lgtest:${++n}:` })

const limits = (over: Partial<Config['limits']>): Partial<Config> => ({
  limits: { redeemPerMinute: 100_000, redeemMisses: 100_000, uploadPerMinute: 100_000, apiPerMinute: 100_000, authFailures: 100_000, uploadConcurrency: 1000, passwordChecks: 64, failOpen: false, ...over }
})

async function gateway (t: Test, config: Partial<Config> = {}): Promise<TestApp> {
  return await buildTestApp(t, { redis: redisConfig(), s3 }, config)
}

async function upload ({ app, auth }: TestApp, body = 'bytes on a cluster'): Promise<{ id: string, link: { id: string, token: string } }> {
  const res = await app.inject({
    method: 'POST',
    url: '/v1/files?filename=c.txt&share=true',
    headers: { authorization: auth('owner'), 'content-type': 'text/plain' },
    body
  })
  if (res.statusCode !== 201) throw new Error(`upload: ${res.statusCode} ${res.body}`)
  return res.json()
}

async function newLink ({ app, auth }: TestApp, fileId: string, options: object = {}): Promise<{ id: string, token: string }> {
  const res = await app.inject({ method: 'POST', url: `/v1/files/${fileId}/links`, headers: { authorization: auth('owner') }, body: options })
  if (res.statusCode !== 201) throw new Error(`link: ${res.statusCode} ${res.body}`)
  return res.json()
}

t.test('the store contracts on a Cluster client as the gateway makes it', async (t) => {
  const clients: Cluster[] = []
  t.teardown(async () => { await Promise.all(clients.map(async (c) => await c.quit())) })
  const store = async (): Promise<RedisStore> => {
    const client = createRedisClient(redisConfig())
    if (!(client instanceof Cluster)) throw new Error('a cluster configuration makes a Cluster client')
    clients.push(client)
    await client.connect()
    return new RedisStore(client)
  }
  linkStoreContract(t, async () => {
    const both = await store()
    return { links: both, budgets: both }
  })
  budgetStoreContract(t, store)
  linkHistoryContract(t, store)
})

t.test('HTTP on a Cluster', async (t) => {
  const gw = await gateway(t)
  const { app, auth } = gw

  t.test('a share link redirects to the object, and its history is kept', async (t) => {
    const file = await upload(gw, 'hello from a cluster')
    const res = await app.inject({ url: `/s/${file.link.token}` })
    t.equal(res.statusCode, 302)
    const download = await fetch(String(res.headers.location))
    t.equal(await download.text(), 'hello from a cluster')
    const events = await app.inject({ url: `/v1/links/${file.link.id}/events`, headers: { authorization: auth('owner') } })
    t.same(events.json().items.map((e: { event: string }) => e.event), ['link.redeemed', 'link.created'])
  })

  t.test('maxDownloads: 5 with 50 concurrent requests gives exactly 5 redirects', async (t) => {
    const file = await upload(gw)
    const link = await newLink(gw, file.id, { maxDownloads: 5 })
    const codes = await Promise.all(Array.from({ length: 50 }, async () => (await app.inject({ url: `/s/${link.token}` })).statusCode))
    t.equal(codes.filter((c) => c === 302).length, 5)
    t.equal(codes.filter((c) => c === 404).length, 45)
    t.match((await app.inject({ url: `/v1/links/${link.id}`, headers: { authorization: auth('owner') } })).json(), { downloads: 5, status: 'exhausted' })
  })

  t.test('a revoked link is a 404', async (t) => {
    const file = await upload(gw)
    t.equal((await app.inject({ url: `/s/${file.link.token}` })).statusCode, 302)
    t.equal((await app.inject({ method: 'DELETE', url: `/v1/links/${file.link.id}`, headers: { authorization: auth('owner') } })).statusCode, 204)
    t.equal((await app.inject({ url: `/s/${file.link.token}` })).statusCode, 404)
  })

  t.test('deleting a file deletes its links (keys in other slots than the file\'s) and the object', async (t) => {
    const file = await upload(gw)
    const more = await Promise.all([newLink(gw, file.id), newLink(gw, file.id, { maxDownloads: 2 })])
    const links = [file.link, ...more]
    t.equal((await app.inject({ method: 'DELETE', url: `/v1/files/${file.id}`, headers: { authorization: auth('owner') } })).statusCode, 204)
    for (const link of links) {
      t.equal((await app.inject({ url: `/s/${link.token}` })).statusCode, 404)
      t.equal((await app.inject({ url: `/v1/links/${link.id}`, headers: { authorization: auth('owner') } })).statusCode, 404)
    }
    const listed = (await app.inject({ url: '/v1/links?limit=100', headers: { authorization: auth('owner') } })).json()
    t.notOk(listed.items.some((l: { fileId: string }) => l.fileId === file.id), 'no listed link points at the file')
    t.equal(await s3.getObject(`files/${file.id}`), null)
  })

  t.test('readiness and Redis metrics see the cluster', async (t) => {
    t.equal((await app.inject({ url: '/readyz' })).statusCode, 200)
    const text = (await app.inject({ url: '/metrics' })).body
    t.match(text, /^linkgate_link_store_duration_seconds_count\{operation="redeem"\} [1-9]/m, 'the redemptions were timed')
  })

  t.test('the keys spread over the three masters', async (t) => {
    const nodes = (app.redis as Cluster).nodes('master')
    t.equal(nodes.length, 3)
    const sizes = await Promise.all(nodes.map(async (node) => await node.dbsize()))
    t.ok(sizes.every((size) => size > 0), `keys per node: ${sizes.join(', ')}`)
  })
})

t.test('rate limits hold on a Cluster, the miss guard too', async (t) => {
  const gw = await gateway(t, limits({ redeemPerMinute: 3, redeemMisses: 2 }))
  const file = await upload(gw)
  const codes = []
  for (let i = 0; i < 5; i++) codes.push((await gw.app.inject({ url: `/s/${file.link.token}` })).statusCode)
  t.same(codes, [302, 302, 302, 429, 429])

  const other = { remoteAddress: '10.1.2.3' }
  const misses = []
  for (let i = 0; i < 3; i++) misses.push((await gw.app.inject({ url: `/s/${newToken()}`, ...other })).statusCode)
  t.same(misses, [404, 404, 429], 'the third unknown token from one address is refused')
})

t.test('started while the cluster is unreachable: not ready, fast 503s', async (t) => {
  const { app, auth } = await buildTestApp(t, { redis: { topology: 'cluster', nodes: [{ host: '127.0.0.1', port: 1 }], url: null, keyPrefix: 'lg:' }, s3 })
  t.equal((await app.inject({ url: '/readyz' })).statusCode, 503)
  const started = Date.now()
  const res = await app.inject({ url: '/v1/files', headers: { authorization: auth('owner') } })
  t.equal(res.statusCode, 503)
  t.equal(res.json().code, 'LG_DEPENDENCY_UNAVAILABLE')
  t.ok(Date.now() - started < 2000, 'fast')
})
