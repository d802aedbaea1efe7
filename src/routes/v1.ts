// /v1, the API: every route here authenticates (once, for the scope), checks that the
// credential may do what the route does (a personal token's scopes: the route's
// config.scope), and spends the caller's API budget unless it names a budget of its own in
// config.rateLimit (uploads).
import type { FastifyPluginAsync } from 'fastify'
import type { Scope } from '../domain/scopes.js'
import { requireScope } from '../identity.js'
import filesRoutes from './files.js'
import linksRoutes from './links.js'
import tokensRoutes from './tokens.js'
import uploadRoute from './upload.js'

/** What a route needs: a token scope, or 'account' (the person themselves, never a personal token). */
interface RouteConfig { scope?: Scope | 'account', rateLimit?: unknown }

const v1Routes: FastifyPluginAsync = async (fastify) => {
  fastify.addHook('onRequest', fastify.authenticate)
  fastify.addHook('onRequest', async (request) => {
    const { scope } = request.routeOptions.config as RouteConfig
    if (scope !== undefined) requireScope(request, scope)
  })
  fastify.addHook('onRoute', (route) => {
    const config = (route.config ?? {}) as RouteConfig
    if (config.scope === undefined) throw new Error(`${route.method.toString()} ${route.url} names no config.scope`)
    if (config.rateLimit !== undefined) return
    route.preHandler = [fastify.apiRateLimit, ...[route.preHandler ?? []].flat()]
  })
  await fastify.register(uploadRoute)
  await fastify.register(filesRoutes)
  await fastify.register(linksRoutes)
  await fastify.register(tokensRoutes)
}

export default v1Routes
