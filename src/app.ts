// Builds the application: the plugins of plugins/ in the order they depend on each other,
// then the routes. The server entry (server.ts) and the tests both start from here.
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import type { IncomingMessage } from 'node:http'
import { checkForwardedFor, trustRule } from './client-address.js'
import type { Config } from './config.js'
import { clientErrorHandler, frameworkErrors } from './framework-errors.js'
import authRoutes from './routes/auth.js'
import healthRoutes from './routes/health.js'
import redeemRoutes from './routes/redeem.js'
import v1Routes from './routes/v1.js'

declare module 'fastify' {
  interface FastifyInstance {
    config: Config
  }
}

export interface AppOptions {
  logger?: FastifyServerOptions['logger']
  /** Static S3 credentials; production leaves this unset and uses the SDK's default chain. */
  s3Credentials?: { accessKeyId: string, secretAccessKey: string } | undefined
}

/**
 * The plugins (plugins/<name>.ts), in the order they depend on each other; each also names
 * its dependencies, which Fastify checks. They are loaded by name: src/ is what plugins are
 * built from, and imports none of them. The order is the architecture, see plugins/README.md.
 */
const PLUGINS = [
  'shutdown', // first: every response while closing says Connection: close
  'errors', // one error handler; before the routes (its onRoute hooks)
  'finite-numbers',
  'body-timeout',
  'redis', // null in embedded mode
  'stores', // LinkStore, BudgetStore, LinkHistory
  'audit',
  'openapi', // before any route, so that every route is documented
  'object-store', // and, in embedded mode, its /o/* route
  'rate-limit',
  'identity-provider', // null without OIDC_ISSUER
  'session', // browser sign-in's cookies, only with OIDC_CLIENT_ID
  'auth',
  'metrics',
  'sweeper'
] as const

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
  for (const name of PLUGINS) await app.register(import(`../plugins/${name}.js`), { s3Credentials: options.s3Credentials })

  await app.register(healthRoutes)
  await app.register(v1Routes, { prefix: '/v1' })
  await app.register(authRoutes)
  await app.register(redeemRoutes)
  return app
}
