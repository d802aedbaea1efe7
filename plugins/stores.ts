// Wires the LinkStore, BudgetStore, LinkHistory, TokenStore, RequestStore and UsageStore ports: one Redis
// store for the first three when Redis is configured (a redemption spends its budgets with the
// link in one round trip), process memory otherwise.
import fp from 'fastify-plugin'
import type { BudgetStore } from '../src/stores/budget-store.js'
import type { LinkHistory } from '../src/stores/link-history.js'
import type { LinkStore } from '../src/stores/link-store.js'
import { MemoryBudgetStore } from '../src/stores/memory-budget-store.js'
import { MemoryLinkHistory } from '../src/stores/memory-link-history.js'
import { MemoryLinkStore } from '../src/stores/memory-link-store.js'
import { MemoryRequestStore } from '../src/stores/memory-request-store.js'
import { MemoryTokenStore } from '../src/stores/memory-token-store.js'
import { MemoryUsageStore } from '../src/stores/memory-usage-store.js'
import { RedisRequestStore } from '../src/stores/redis-request-store.js'
import { RedisStore } from '../src/stores/redis-store.js'
import { RedisTokenStore } from '../src/stores/redis-token-store.js'
import { RedisUsageStore } from '../src/stores/redis-usage-store.js'
import type { RequestStore } from '../src/stores/request-store.js'
import type { TokenStore } from '../src/stores/token-store.js'
import type { UsageStore } from '../src/stores/usage-store.js'

declare module 'fastify' {
  interface FastifyInstance {
    linkStore: LinkStore
    budgetStore: BudgetStore
    linkHistory: LinkHistory
    tokenStore: TokenStore
    requestStore: RequestStore
    usageStore: UsageStore
  }
}

export default fp(async function storesPlugin (fastify) {
  if (fastify.redis !== null) {
    // The client belongs to the redis plugin, which closes it.
    const store = new RedisStore(fastify.redis)
    fastify.decorate('linkStore', store)
    fastify.decorate('budgetStore', store)
    fastify.decorate('linkHistory', store)
    fastify.decorate('tokenStore', new RedisTokenStore(fastify.redis))
    fastify.decorate('requestStore', new RedisRequestStore(fastify.redis))
    fastify.decorate('usageStore', new RedisUsageStore(fastify.redis))
    return
  }
  const budgets = new MemoryBudgetStore()
  const history = new MemoryLinkHistory()
  const links = new MemoryLinkStore(budgets)
  fastify.decorate('linkStore', links)
  fastify.decorate('budgetStore', budgets)
  fastify.decorate('linkHistory', history)
  const requests = new MemoryRequestStore()
  fastify.decorate('tokenStore', new MemoryTokenStore())
  fastify.decorate('requestStore', requests)
  fastify.decorate('usageStore', new MemoryUsageStore())
  fastify.addHook('onClose', async () => {
    links.close()
    requests.close()
    budgets.close()
    history.close()
  })
}, { name: 'stores', dependencies: ['redis'] })
