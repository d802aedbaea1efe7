// /v1, the API: every route here authenticates (once, for the scope) and spends the
// caller's API budget, unless it names a budget of its own in config.rateLimit (uploads).
import type { FastifyPluginAsync } from 'fastify'
import filesRoutes from './files.js'
import linksRoutes from './links.js'
import uploadRoute from './upload.js'

const v1Routes: FastifyPluginAsync = async (fastify) => {
  fastify.addHook('onRequest', fastify.authenticate)
  fastify.addHook('onRoute', (route) => {
    if ((route.config as { rateLimit?: unknown } | undefined)?.rateLimit !== undefined) return
    route.preHandler = [fastify.apiRateLimit, ...[route.preHandler ?? []].flat()]
  })
  await fastify.register(uploadRoute)
  await fastify.register(filesRoutes)
  await fastify.register(linksRoutes)
}

export default v1Routes
