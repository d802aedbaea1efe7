// The one ioredis client of the app (links now; rate limits and audit history share it),
// or null in the embedded mode: a Redis (REDIS_URL), a Redis whose master the sentinels
// name (REDIS_SENTINELS), or a Cluster (REDIS_CLUSTER_NODES). Timeouts are bounded and the
// offline queue is off, so a Redis outage turns into fast 503s instead of requests piling up.
import fp from 'fastify-plugin'
import { Cluster, Redis, type RedisOptions } from 'ioredis'
import { withTimeout } from '../src/with-timeout.js'
import { redisUrlSettings, type RedisConfig } from '../src/config.js'

declare module 'fastify' {
  interface FastifyInstance {
    redis: Redis | Cluster | null
  }
}

// The longest the start waits for Redis; past it, the client keeps connecting in the background.
const START_WAIT_MS = 5000

// Keep trying in the background, so the gateway recovers when Redis is back.
const retry = (attempt: number): number => Math.min(attempt * 200, 2000)

/** What every connection to a data node gets, whatever the topology. */
const BOUNDED = {
  connectTimeout: 2000,
  commandTimeout: 1000,
  maxRetriesPerRequest: 1,
  // A master demoted by a failover answers READONLY: reconnect (to the new master, with sentinels).
  reconnectOnError: (err: Error) => err.message.startsWith('READONLY')
} satisfies RedisOptions

/** The commands of one event-loop turn leave in one write, in order: docs/decisions/0002-redis-writes-once-per-turn.md */
function writeOncePerTurn (redis: Redis): Redis {
  const send = redis.sendCommand.bind(redis)
  let corked = false
  redis.sendCommand = (command, stream) => {
    const socket = redis.stream as Redis['stream'] | undefined
    if (!corked && socket !== undefined) {
      corked = true
      socket.cork()
      setImmediate(() => {
        corked = false
        socket.uncork()
      })
    }
    return send(command, stream)
  }
  return redis
}

export function createRedisClient (config: RedisConfig): Redis | Cluster {
  // No auto-pipelining: writeOncePerTurn groups the writes for less (docs/decisions/0002-redis-writes-once-per-turn.md).
  const client = { keyPrefix: config.keyPrefix, lazyConnect: true, enableOfflineQueue: false }
  switch (config.topology) {
    case 'single':
      return writeOncePerTurn(new Redis(config.url, { ...BOUNDED, ...client, retryStrategy: retry }))
    case 'sentinel': {
      const { tls, ...auth } = config.url === null ? { tls: false } : redisUrlSettings(config.url)
      return writeOncePerTurn(new Redis({
        ...BOUNDED,
        ...client,
        ...auth,
        sentinels: config.sentinels,
        name: config.name,
        retryStrategy: retry,
        sentinelRetryStrategy: retry,
        // rediss: TLS to the sentinels and to the master they name.
        ...(tls ? { tls: {}, sentinelTLS: {}, enableTLSForSentinelMode: true } : {})
      }))
    }
    case 'cluster': {
      const { tls, db: _db, ...auth } = config.url === null ? { tls: false, db: 0 } : redisUrlSettings(config.url)
      const cluster = new Cluster(config.nodes, {
        ...client,
        clusterRetryStrategy: retry,
        redisOptions: { ...BOUNDED, ...auth, ...(tls ? { tls: {} } : {}) },
        // With TLS, connect by name so that certificates are checked against it (managed clusters).
        ...(tls ? { dnsLookup: (address: string, callback: (err: null, address: string) => void) => { callback(null, address) } } : {})
      })
      // Each node's connection is a Redis of its own.
      cluster.on('+node', writeOncePerTurn)
      return cluster
    }
  }
}

export default fp(async function redisPlugin (fastify) {
  const config = fastify.config.redis
  if (config === null) {
    fastify.decorate('redis', null)
    return
  }
  const client = createRedisClient(config)
  client.on('error', (err: Error) => fastify.log.warn({ err: { message: err.message } }, 'redis connection error'))
  // Starting while Redis is down is allowed: the gateway reports not ready until it connects.
  // The wait is bounded: with sentinels, connect() only settles once a sentinel answers.
  const connected = client.connect()
  connected.catch(() => {})
  await withTimeout(connected, START_WAIT_MS)
    .catch((err: Error) => fastify.log.error({ err: { message: err.message } }, 'redis is unreachable at start'))
  fastify.decorate<Redis | Cluster | null>('redis', client)
  fastify.addHook('onClose', async () => {
    await client.quit().catch(() => client.disconnect())
  })
}, { name: 'redis', fastify: '5.x' })
