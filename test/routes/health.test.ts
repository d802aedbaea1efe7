// /healthz and /readyz against a Redis that goes away and comes back. Readiness is cached
// for 1.5 s: the app's clock moves only when this test moves it, and Redis going and
// coming back is awaited on the app's own client, so no step depends on how long a
// redis-server takes to stop or start.
import { once } from 'node:events'
import t from 'tap'
import { buildTestApp } from '../helpers/app.js'
import { restartableRedis } from '../helpers/redis.js'
import { startS3 } from '../helpers/s3.js'
import { withTimeout } from '../helpers/wait.js'

const redis = await restartableRedis(t)
const s3 = await startS3(t)
const { app } = await buildTestApp(t, { redis: { url: redis.url, keyPrefix: 'lg:', stop: redis.stop }, s3 })
/** Past the readiness cache's 1.5 s. */
const PAST_THE_CACHE_MS = 2000

t.test('ready, then cached, then not ready while Redis is down, then ready again by itself', async (t) => {
  const client = app.redis
  if (client === null) throw new Error('the app has no Redis client')
  let now = Date.now()
  t.capture(Date, 'now', () => now)

  const ready = await app.inject({ url: '/readyz' })
  t.equal(ready.statusCode, 200)
  t.same(ready.json(), { status: 'ready', checks: { linkStore: 'ok', objectStore: 'ok' } })

  const lost = once(client, 'close')
  await redis.stop()
  await lost
  t.equal((await app.inject({ url: '/readyz' })).statusCode, 200, 'answered from the cache, without touching Redis')
  now += PAST_THE_CACHE_MS
  const down = await app.inject({ url: '/readyz' })
  t.equal(down.statusCode, 503)
  t.match(down.json(), { status: 503, code: 'LG_NOT_READY', detail: 'Not ready: linkStore unavailable' })
  t.same((await app.inject({ url: '/healthz' })).json(), { status: 'ok' }, 'alive all the same')
  const started = performance.now()
  t.equal((await app.inject({ url: '/v1/files', headers: { authorization: `Bearer ${app.jwt.sign({ sub: 'x' }, { expiresIn: '1h' })}` } })).statusCode, 503)
  t.ok(performance.now() - started < 1000, 'a request that needs Redis fails within a second')

  // Not events.once: it would reject on the 'error' a reconnect attempt emits while Redis starts.
  const back = new Promise((resolve) => { client.once('ready', resolve) })
  await redis.start()
  // The client reconnects by itself, within its retry delay (2 s at most).
  await withTimeout('the app\'s Redis client to reconnect', back, 20_000)
  now += PAST_THE_CACHE_MS
  t.equal((await app.inject({ url: '/readyz' })).statusCode, 200, 'recovered with no restart')
})
