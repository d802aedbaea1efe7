// The one ioredis client of the app (links now; rate limits and audit history share it),
// or null in the embedded mode. Timeouts are bounded and the offline queue is off, so
// a Redis outage turns into fast 503s instead of requests piling up.
import fp from 'fastify-plugin'
import { Redis } from 'ioredis'

declare module 'fastify' {
  interface FastifyInstance {
    redis: Redis | null
  }
}

export default fp(async function redisPlugin (fastify) {
  const config = fastify.config.redis
  if (config === null) {
    fastify.decorate('redis', null)
    return
  }
  const client = new Redis(config.url, {
    keyPrefix: config.keyPrefix,
    lazyConnect: true,
    connectTimeout: 2000,
    commandTimeout: 1000,
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    enableAutoPipelining: true,
    // Keep trying in the background, so the gateway recovers when Redis is back.
    retryStrategy: (attempt) => Math.min(attempt * 200, 2000)
  })
  client.on('error', (err) => fastify.log.warn({ err: { message: err.message } }, 'redis connection error'))
  // Starting while Redis is down is allowed: the gateway reports not ready until it connects.
  await client.connect().catch((err: Error) => fastify.log.error({ err: { message: err.message } }, 'redis is unreachable at start'))
  fastify.decorate('redis', client)
  fastify.addHook('onClose', async () => {
    await client.quit().catch(() => client.disconnect())
  })
}, { name: 'redis', fastify: '5.x' })
