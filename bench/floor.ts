// A floor for the redemption benchmark: the least a Fastify process can do for
// `GET /s/:token`. FLOOR_MODE=static answers a fixed 302; FLOOR_MODE=redis first does one
// Redis GET (ioredis, REDIS_URL). FLOOR_LOCATION is the Location sent (the benchmark
// passes a real presigned URL, so both answers are as long as the gateway's).
// Listens on a free loopback port and prints "listening <port>". Started by run.ts.
import Fastify from 'fastify'
import { Redis } from 'ioredis'

const mode = process.env.FLOOR_MODE
const location = process.env.FLOOR_LOCATION ?? 'http://127.0.0.1:1/bucket/files/object'
if (mode !== 'static' && mode !== 'redis') throw new Error('FLOOR_MODE must be "static" or "redis"')

const app = Fastify({ logger: false, routerOptions: { maxParamLength: 200 } })

if (mode === 'redis') {
  const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { lazyConnect: true })
  await redis.connect()
  await redis.set('floor:link', JSON.stringify({ fileId: 'f'.repeat(26), downloads: 0, maxDownloads: null }))
  app.addHook('onClose', async () => { await redis.quit() })
  app.get('/s/:token', async (_request, reply) => {
    await redis.get('floor:link')
    return await reply.redirect(location, 302)
  })
} else {
  app.get('/s/:token', async (_request, reply) => await reply.redirect(location, 302))
}

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => { app.close().then(() => process.exit(0), () => process.exit(1)) })
}

await app.listen({ host: '127.0.0.1', port: 0 })
process.stdout.write(`listening ${(app.server.address() as { port: number }).port}\n`)
