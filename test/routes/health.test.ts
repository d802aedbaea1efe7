// /healthz and /readyz against a Redis that goes away and comes back.
import t from 'tap'
import { buildTestApp } from '../helpers/app.js'
import { restartableRedis } from '../helpers/redis.js'
import { startS3 } from '../helpers/s3.js'

const redis = await restartableRedis(t)
const s3 = await startS3(t)
const { app } = await buildTestApp(t, { redis: { url: redis.url, keyPrefix: 'lg:', stop: redis.stop }, s3 })

/** Polls /readyz (bounded) until it answers `status`: recovery has no event to await. */
async function readyzUntil (status: number): Promise<{ statusCode: number, json: () => any }> {
  for (let attempt = 0; ; attempt++) {
    const res = await app.inject({ url: '/readyz' })
    if (res.statusCode === status || attempt === 100) return res
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

t.test('ready, then cached, then not ready while Redis is down, then ready again by itself', async (t) => {
  const ready = await app.inject({ url: '/readyz' })
  t.equal(ready.statusCode, 200)
  t.same(ready.json(), { status: 'ready', checks: { linkStore: 'ok', objectStore: 'ok' } })

  await redis.stop()
  t.equal((await app.inject({ url: '/readyz' })).statusCode, 200, 'answered from the cache, without touching Redis')
  const down = await readyzUntil(503)
  t.equal(down.statusCode, 503)
  t.match(down.json(), { status: 503, code: 'LG_NOT_READY', detail: 'Not ready: linkStore unavailable' })
  t.same((await app.inject({ url: '/healthz' })).json(), { status: 'ok' }, 'alive all the same')
  const started = Date.now()
  t.equal((await app.inject({ url: '/v1/files', headers: { authorization: `Bearer ${app.jwt.sign({ sub: 'x' }, { expiresIn: '1h' })}` } })).statusCode, 503)
  t.ok(Date.now() - started < 1000, 'a request that needs Redis fails within a second')

  await redis.start()
  t.equal((await readyzUntil(200)).statusCode, 200, 'recovered with no restart')
})
