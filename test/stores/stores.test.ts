// The contracts of the LinkStore, BudgetStore and LinkHistory ports: the same suites against
// the memory adapters and against Redis (one class for all three).
import { Redis } from 'ioredis'
import t from 'tap'
import { hashToken, newToken } from '../../src/domain/tokens.js'
import { auditEvent } from '../../src/audit.js'
import { LINK_HISTORY_GRACE_MS } from '../../src/stores/link-history.js'
import { EXPIRED_LINK_GRACE_MS } from '../../src/stores/link-store.js'
import { MemoryBudgetStore } from '../../src/stores/memory-budget-store.js'
import { MemoryLinkHistory } from '../../src/stores/memory-link-history.js'
import { MemoryLinkStore } from '../../src/stores/memory-link-store.js'
import { RedisStore } from '../../src/stores/redis-store.js'
import { startRedis } from '../helpers/redis.js'
import { file, link } from '../helpers/records.js'
import { budgetStoreContract } from './budget-store-contract.js'
import { linkHistoryContract } from './link-history-contract.js'
import { API, linkStoreContract } from './link-store-contract.js'

t.test('memory', async (t) => {
  const budgetStore = (t: Parameters<Parameters<typeof budgetStoreContract>[1]>[0]): MemoryBudgetStore => {
    const budgets = new MemoryBudgetStore()
    t.teardown(() => { budgets.close() })
    return budgets
  }
  linkStoreContract(t, async (t) => {
    const budgets = budgetStore(t)
    const links = new MemoryLinkStore(budgets)
    t.teardown(() => { links.close() })
    return { links, budgets }
  })
  budgetStoreContract(t, async (t) => budgetStore(t))
  linkHistoryContract(t, async (t) => {
    const history = new MemoryLinkHistory()
    t.teardown(() => { history.close() })
    return history
  })
})

t.test('redis', async (t) => {
  const redis = await startRedis(t)
  const clients: Redis[] = []
  t.teardown(async () => { await Promise.all(clients.map(async (c) => await c.quit())) })
  const client = async (): Promise<Redis> => {
    const c = new Redis(redis.url, { keyPrefix: redis.keyPrefix })
    clients.push(c)
    return c
  }
  const store = async (): Promise<RedisStore> => new RedisStore(await client())
  linkStoreContract(t, async () => {
    const both = await store()
    return { links: both, budgets: both }
  })
  budgetStoreContract(t, store)
  linkHistoryContract(t, store)

  t.test('a link\'s keys expire with it, plus the grace period', async (t) => {
    const c = await client()
    const store = new RedisStore(c)
    const f = file()
    await store.putFile(f)
    const { record } = link(f, { expiresAt: Date.now() + 60_000 })
    await store.createLink(record)
    const ttl = await c.pttl(`link:${record.tokenHash}`)
    t.ok(ttl > 60_000 + EXPIRED_LINK_GRACE_MS - 5000 && ttl <= 60_000 + EXPIRED_LINK_GRACE_MS, `pttl ${ttl}`)
    t.ok(await c.pttl(`lid:${record.id}`) > EXPIRED_LINK_GRACE_MS)

    const keepUntil = record.expiresAt + LINK_HISTORY_GRACE_MS
    const event = auditEvent('link.redeemed', { reqId: 'r', ip: '127.0.0.1', userAgent: undefined, sub: null }, { linkId: record.id })
    const before = Date.now()
    await store.appendEvents(record.id, { lifecycle: [JSON.stringify(event)], denials: [] }, keepUntil)
    const historyTtl = await c.pttl(`history:${record.id}`)
    t.ok(historyTtl > keepUntil - before - 5000 && historyTtl <= keepUntil - before, `the history expires after the link's grace (pttl ${historyTtl})`)
    const later = { ...event, event: 'link.revoked' as const }
    const denied = { ...event, event: 'link.denied' as const }
    await store.appendEvents(record.id, { lifecycle: [event, later].map((e) => JSON.stringify(e)), denials: [JSON.stringify(denied)] }, keepUntil)
    t.ok(await c.pttl(`denied:${record.id}`) > keepUntil - before - 5000, 'the denials expire with it too')
    t.same(await store.listEvents(record.id, 10), [denied, later, event, event], 'newest first (equal times: the denial first)')
  })

  t.test('budget counters live under the key prefix', async (t) => {
    const c = await client()
    const store = new RedisStore(c)
    await store.spend([{ key: 'budget:prefixed', mode: 'take', max: 5, windowMs: 60_000 }])
    await store.redeem(hashToken(newToken()), { ...API, budgets: [{ key: 'budget:prefixed', mode: 'take', max: 5, windowMs: 60_000 }] })
    const raw = new Redis(redis.url)
    t.teardown(async () => { await raw.quit() })
    t.equal(await raw.get(`${redis.keyPrefix}budget:prefixed`), '2')
    t.equal(await raw.exists('budget:prefixed'), 0)
  })

  t.test('racing instances (separate connections) still grant exactly maxDownloads', async (t) => {
    const stores = await Promise.all([client(), client(), client()]).then((cs) => cs.map((c) => new RedisStore(c)))
    const [first] = stores
    const f = file()
    await first?.putFile(f)
    const { record, token } = link(f, { maxDownloads: 7 })
    await first?.createLink(record)
    const results = await Promise.all(Array.from({ length: 150 }, async (_, i) => await stores[i % 3]?.redeem(hashToken(token), API)))
    t.equal(results.filter((r) => r?.ok === true).length, 7)
  })

  t.test('a store whose Redis is gone fails fast with a 503', async (t) => {
    const dead = new Redis('redis://127.0.0.1:1', { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => null })
    const store = new RedisStore(dead)
    await t.rejects(store.redeem(hashToken(newToken()), API), { statusCode: 503, code: 'LG_DEPENDENCY_UNAVAILABLE' })
    dead.disconnect()
  })
})
