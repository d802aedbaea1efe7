// Wires the LinkStore, BudgetStore, LinkHistory and TokenStore ports: one Redis store for
// the first three when Redis is configured (a redemption spends its budgets with the link in
// one round trip), process memory otherwise.
import fp from 'fastify-plugin'
import type { BudgetStore } from '../src/stores/budget-store.js'
import type { LinkHistory } from '../src/stores/link-history.js'
import type { LinkStore } from '../src/stores/link-store.js'
import { MemoryBudgetStore } from '../src/stores/memory-budget-store.js'
import { MemoryLinkHistory } from '../src/stores/memory-link-history.js'
import { MemoryLinkStore } from '../src/stores/memory-link-store.js'
import { MemoryTokenStore } from '../src/stores/memory-token-store.js'
import { RedisStore } from '../src/stores/redis-store.js'
import { RedisTokenStore } from '../src/stores/redis-token-store.js'
import type { TokenStore } from '../src/stores/token-store.js'

declare module 'fastify' {
  interface FastifyInstance {
    linkStore: LinkStore
    budgetStore: BudgetStore
    linkHistory: LinkHistory
    tokenStore: TokenStore
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
    return
  }
  const budgets = new MemoryBudgetStore()
  const history = new MemoryLinkHistory()
  const links = new MemoryLinkStore(budgets)
  fastify.decorate('linkStore', links)
  fastify.decorate('budgetStore', budgets)
  fastify.decorate('linkHistory', history)
  fastify.decorate('tokenStore', new MemoryTokenStore())
  fastify.addHook('onClose', async () => {
    links.close()
    budgets.close()
    history.close()
  })
}, { name: 'stores', dependencies: ['redis'] })
