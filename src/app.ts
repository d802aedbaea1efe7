// Builds the application: plugins in the order they depend on each other, then routes.
// The server entry (server.ts) and the tests both start from here.
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import type { IncomingMessage } from 'node:http'
import auditPlugin from '../plugins/audit.js'
import authPlugin from '../plugins/auth.js'
import bodyTimeoutPlugin from '../plugins/body-timeout.js'
import errorsPlugin, { clientErrorHandler, frameworkErrors } from '../plugins/errors.js'
import linkStorePlugin from '../plugins/link-store.js'
import metricsPlugin from '../plugins/metrics.js'
import rateLimitPlugin from '../plugins/rate-limit.js'
import objectStorePlugin, { type ObjectStorePluginOptions } from '../plugins/object-store.js'
import openapiPlugin from '../plugins/openapi.js'
import redisPlugin from '../plugins/redis.js'
import shutdownPlugin from '../plugins/shutdown.js'
import sweeperPlugin from '../plugins/sweeper.js'
import { checkForwardedFor, trustRule } from './client-address.js'
import type { Config } from './config.js'
import filesRoutes from './routes/files.js'
import healthRoutes from './routes/health.js'
import linksRoutes from './routes/links.js'
import localObjectRoutes from './routes/local-objects.js'
import redeemRoutes from './routes/redeem.js'
import uploadRoute from './routes/upload.js'
import { LocalObjectStore } from './stores/local-object-store.js'

declare module 'fastify' {
  interface FastifyInstance {
    config: Config
  }
}

export interface AppOptions extends ObjectStorePluginOptions {
  logger?: FastifyServerOptions['logger']
}

export async function buildApp (config: Config, options: AppOptions = {}): Promise<FastifyInstance> {
  const trust = trustRule(config.trustProxy)
  const app = Fastify({
    logger: options.logger ?? false,
    // Uploads may legitimately take long: no limit on a request's total time, but a
    // connection silent for IDLE_TIMEOUT (a stalled client, or a stalled multipart parser,
    // see routes/upload.ts) is closed.
    requestTimeout: 0,
    connectionTimeout: config.idleTimeout * 1000,
    keepAliveTimeout: 72_000,
    trustProxy: trust ?? false,
    // An X-Forwarded-For that would make request.ip something other than an IP is dropped
    // here: before routing and the request log, the first to read request.ip.
    ...(trust === null ? {} : { rewriteUrl: (request: IncomingMessage) => { checkForwardedFor(request, trust); return request.url ?? '/' } }),
    routerOptions: { maxParamLength: 200 },
    // What fails before a route runs (a bad URL, malformed HTTP) is a problem with an LG_ code too.
    frameworkErrors,
    clientErrorHandler,
    // An unknown property or query parameter is a 400, never silently dropped (a typo must
    // not make a weaker link); query strings are still coerced to their types.
    ajv: { customOptions: { removeAdditional: false } }
  }).withTypeProvider<TypeBoxTypeProvider>()

  app.decorate('config', config)
  await app.register(shutdownPlugin)
  await app.register(errorsPlugin)
  await app.register(bodyTimeoutPlugin)
  await app.register(redisPlugin)
  await app.register(linkStorePlugin)
  await app.register(objectStorePlugin, { s3Credentials: options.s3Credentials })
  await app.register(auditPlugin)
  // Before any route (its own /metrics included), so that every route is documented.
  await app.register(openapiPlugin)
  await app.register(rateLimitPlugin)
  await app.register(authPlugin)
  await app.register(metricsPlugin)
  await app.register(sweeperPlugin)

  await app.register(healthRoutes)
  await app.register(uploadRoute)
  await app.register(filesRoutes)
  await app.register(linksRoutes)
  await app.register(redeemRoutes)
  if (app.objectStore instanceof LocalObjectStore) await app.register(localObjectRoutes, { store: app.objectStore })
  return app
}
