// The RequestStore contract, against the memory adapter, a Redis node and a Redis Cluster
// (the client the gateway makes).
import { Cluster, Redis } from 'ioredis'
import t, { type Test } from 'tap'
import { createRedisClient } from '../../plugins/redis.js'
import { newId } from '../../src/domain/ids.js'
import { hashToken, newToken } from '../../src/domain/tokens.js'
import { MemoryRequestStore } from '../../src/stores/memory-request-store.js'
import { RedisRequestStore } from '../../src/stores/redis-request-store.js'
import { EXPIRED_REQUEST_GRACE_MS, requestStatus, type RequestRecord, type RequestStore } from '../../src/stores/request-store.js'
import { startRedis, startRedisCluster } from '../helpers/redis.js'

/** A request as the routes make it, open for an hour, with every optional field set. */
function fileRequest (owner = 'alice', over: Partial<RequestRecord> = {}): RequestRecord {
  const now = Date.now()
  return {
    id: newId(now),
    owner,
    tokenHash: hashToken(newToken()),
    createdAt: now,
    expiresAt: now + 3600_000,
    maxFiles: 2,
    maxBytes: 10 * 1024 * 1024,
    allowedTypes: ['image/*', 'application/pdf'],
    passwordHash: 'scrypt$32768$8$1$salt$hash',
    message: 'Send me the scans — <b>before</b> Friday\nThanks',
    revokedAt: null,
    ...over
  }
}

function requestStoreContract (t: Test, make: (t: Test) => Promise<RequestStore>): void {
  t.test('a request comes back whole, by id and by the hash of its token; unknown ones are null', async (t) => {
    const store = await make(t)
    const full = fileRequest()
    const bare = fileRequest('alice', { allowedTypes: null, passwordHash: null, message: null })
    for (const r of [full, bare]) await store.createRequest(r)
    t.same(await store.getRequest(full.id), full)
    t.same(await store.findRequest(full.tokenHash), full)
    t.same(await store.getRequest(bare.id), bare, 'null fields stay null')
    t.same(await store.findRequest(bare.tokenHash), bare)
    t.equal(await store.getRequest(newId()), null)
    t.equal(await store.findRequest(hashToken(newToken())), null)
  })

  t.test('revoke: the first revocation stands; an unknown request is false', async (t) => {
    const store = await make(t)
    const r = fileRequest()
    await store.createRequest(r)
    t.equal(await store.revokeRequest(r.id, 1000), true)
    t.equal(await store.revokeRequest(r.id, 2000), true, 'again: still there, still revoked')
    const revoked = await store.findRequest(r.tokenHash)
    t.same(revoked, { ...r, revokedAt: 1000 })
    t.equal(requestStatus(revoked as RequestRecord, Date.now()), 'revoked')
    t.equal((await store.getRequest(r.id))?.revokedAt, 1000)
    t.equal(await store.revokeRequest(newId(), 1000), false)
  })

  t.test('listing: the owner\'s own, newest first, in pages', async (t) => {
    const store = await make(t)
    const owner = `owner-${newId()}`
    const made: RequestRecord[] = []
    for (let i = 0; i < 5; i++) {
      const r = fileRequest(owner, { id: newId(Date.now() + i) })
      made.push(r)
      await store.createRequest(r)
    }
    await store.createRequest(fileRequest(`someone-else-${newId()}`))
    const first = await store.listRequests(owner, { limit: 2 })
    t.same(first.items.map((r) => r.id), [made[4]?.id, made[3]?.id])
    t.equal(first.next, made[3]?.id)
    const second = await store.listRequests(owner, { limit: 2, after: first.next ?? undefined })
    t.same(second.items.map((r) => r.id), [made[2]?.id, made[1]?.id])
    const last = await store.listRequests(owner, { limit: 2, after: second.next ?? undefined })
    t.same(last.items.map((r) => r.id), [made[0]?.id])
    t.equal(last.next, null)
    t.same(last.items[0], made[0], 'listed whole')
    t.same(await store.listRequests(`nobody-${newId()}`, { limit: 10 }), { items: [], next: null })
  })

  t.test('expired: kept for the grace (to say so), then gone everywhere', async (t) => {
    const store = await make(t)
    const owner = `expiring-${newId()}`
    const now = Date.now()
    const lately = fileRequest(owner, { createdAt: now - 10_000, expiresAt: now - 1000 })
    const long = fileRequest(owner, { id: newId(now - 1), createdAt: now - EXPIRED_REQUEST_GRACE_MS - 20_000, expiresAt: now - EXPIRED_REQUEST_GRACE_MS - 1000 })
    await store.createRequest(lately)
    await store.createRequest(long)
    const found = await store.findRequest(lately.tokenHash)
    t.same(found, lately, 'within the grace, still found')
    t.equal(requestStatus(found as RequestRecord, now), 'expired')
    t.equal(await store.findRequest(long.tokenHash), null, 'past the grace: unknown')
    t.equal(await store.getRequest(long.id), null)
    t.equal(await store.revokeRequest(long.id, now), false)
    t.same((await store.listRequests(owner, { limit: 10 })).items.map((r) => r.id), [lately.id], 'and not listed')
  })
}

t.test('memory', async (t) => {
  requestStoreContract(t, async (t) => {
    const store = new MemoryRequestStore()
    t.teardown(() => { store.close() })
    return store
  })
})

t.test('redis', async (t) => {
  const redis = await startRedis(t)
  const clients: Redis[] = []
  t.teardown(async () => { await Promise.all(clients.map(async (c) => await c.quit())) })
  const client = (): Redis => {
    const c = new Redis(redis.url, { keyPrefix: redis.keyPrefix })
    clients.push(c)
    return c
  }
  requestStoreContract(t, async () => new RedisRequestStore(client()))

  t.test('a request\'s keys expire with it, plus the grace', async (t) => {
    const c = client()
    const r = fileRequest()
    await new RedisRequestStore(c).createRequest(r)
    const expected = r.expiresAt + EXPIRED_REQUEST_GRACE_MS - Date.now()
    for (const key of [`request:${r.tokenHash}`, `rid:${r.id}`]) {
      const ttl = await c.pttl(key)
      t.ok(ttl > expected - 5000 && ttl <= expected, `${key}: pttl ${ttl}`)
    }
  })

  t.test('a store whose Redis is gone fails fast with a 503', async (t) => {
    const dead = new Redis('redis://127.0.0.1:1', { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => null })
    t.teardown(() => { dead.disconnect() })
    await t.rejects(new RedisRequestStore(dead).findRequest(hashToken(newToken())), { statusCode: 503, code: 'LG_DEPENDENCY_UNAVAILABLE' })
  })
})

t.test('redis cluster', async (t) => {
  const cluster = await startRedisCluster(t)
  const clients: Cluster[] = []
  t.teardown(async () => { await Promise.all(clients.map(async (c) => await c.quit())) })
  let n = 0
  requestStoreContract(t, async () => {
    const client = createRedisClient({ topology: 'cluster', nodes: cluster.nodes, url: null, keyPrefix: `lgtest:${++n}:` })
    if (!(client instanceof Cluster)) throw new Error('a cluster configuration makes a Cluster client')
    clients.push(client)
    await client.connect()
    return new RedisRequestStore(client)
  })
})
