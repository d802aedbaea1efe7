// Redis Sentinel: the gateway asks a sentinel (`redis-server --sentinel`) where the master
// is, and REDIS_URL gives the master connection its database.
import { Redis } from 'ioredis'
import t from 'tap'
import { buildTestApp } from '../helpers/app.js'
import { restartableRedis, startRedisSentinel } from '../helpers/redis.js'
import { startS3 } from '../helpers/s3.js'

// Private: the sentinel must watch a server of this test's own.
const master = await restartableRedis(t)
const sentinel = await startRedisSentinel(t, master.port)
const s3 = await startS3(t)

t.test('the gateway works through a sentinel, on the master it names', async (t) => {
  const { app, auth } = await buildTestApp(t, {
    redis: { topology: 'sentinel', sentinels: sentinel.sentinels, name: sentinel.name, url: 'redis://master-from-sentinel/3', keyPrefix: 'lg:' },
    s3
  })
  t.equal((await app.inject({ url: '/readyz' })).statusCode, 200)
  const up = await app.inject({
    method: 'POST',
    url: '/v1/files?filename=s.txt&share=true',
    headers: { authorization: auth('owner'), 'content-type': 'text/plain' },
    body: 'via sentinel'
  })
  t.equal(up.statusCode, 201)
  const { id, link } = up.json()
  const res = await app.inject({ url: `/s/${link.token}` })
  t.equal(res.statusCode, 302)
  t.equal(await (await fetch(String(res.headers.location))).text(), 'via sentinel')
  t.equal((await app.inject({ method: 'DELETE', url: `/v1/links/${link.id}`, headers: { authorization: auth('owner') } })).statusCode, 204)
  t.equal((await app.inject({ url: `/s/${link.token}` })).statusCode, 404)

  // The records are on the master, in the database REDIS_URL named.
  const direct = new Redis(master.url, { db: 3 })
  t.teardown(async () => { await direct.quit() })
  t.equal(await direct.exists(`lg:file:{${id}}`), 1)
})
