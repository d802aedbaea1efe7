// Wires the LinkStore port: Redis when REDIS_URL is set, process memory otherwise.
import fp from 'fastify-plugin'
import type { LinkStore } from '../src/stores/link-store.js'
import { MemoryLinkStore } from '../src/stores/memory-link-store.js'
import { RedisLinkStore } from '../src/stores/redis-link-store.js'

declare module 'fastify' {
  interface FastifyInstance {
    linkStore: LinkStore
  }
}

export default fp(async function linkStorePlugin (fastify) {
  const store: LinkStore = fastify.redis === null ? new MemoryLinkStore() : new RedisLinkStore(fastify.redis)
  fastify.decorate('linkStore', store)
  fastify.addHook('onClose', async () => { await store.close() })
}, { name: 'link-store', dependencies: ['redis'] })
