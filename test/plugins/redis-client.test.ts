// The gateway's ioredis client against a real redis-server: the commands of one turn of
// the event loop leave together, in order, once the turn is over.
import type { Redis } from 'ioredis'
import { setImmediate as nextTurn } from 'node:timers/promises'
import t from 'tap'
import { createRedisClient } from '../../plugins/redis.js'
import { startRedis } from '../helpers/redis.js'

t.test('the commands of one event-loop turn are held, then written together and answered in order', async (t) => {
  const redis = await startRedis(t)
  const client = createRedisClient({ topology: 'single', url: redis.url, keyPrefix: redis.keyPrefix }) as Redis
  t.teardown(() => { client.disconnect() })
  await client.connect()
  await nextTurn()
  const socket = client.stream
  t.equal(socket.writableCorked, 0, 'nothing held between turns')

  const keys = Array.from({ length: 50 }, (_, i) => `turn:${i}`)
  const writes = keys.map(async (key, i) => await client.set(key, String(i)))
  t.equal(socket.writableCorked, 1, 'held while the turn lasts')
  t.ok(socket.writableLength > 50 * 'SET turn:0 0'.length, `all 50 commands buffered (${socket.writableLength} bytes), none written`)
  const reads = client.mget(...keys)

  t.same(await Promise.all(writes), keys.map(() => 'OK'))
  t.same(await reads, keys.map((_, i) => String(i)), 'written in order: the read sees every write before it')
  t.equal(socket.writableCorked, 0)
  t.equal(socket.writableLength, 0, 'everything went out')
})
