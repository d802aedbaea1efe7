// One error handler and one not-found handler: every error is an RFC 9457 problem
// (application/problem+json) with a stable `code`, or a page for browsers; 5xx details
// stay in the log.
import type { FastifyError, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { HttpError, badRequest } from '../src/errors.js'
import { publicCode } from '../src/framework-errors.js'
import { redactUrl } from '../src/logger.js'
import { sendError } from '../src/problem.js'
import { ProblemSchema } from '../src/schemas.js'
import { isRedisUnavailable } from '../src/stores/redis-errors.js'

/**
 * The detail of a schema failure, in words a person can act on. An unknown property is
 * named: it is most likely a typo, and ignoring it would silently weaken what the client
 * asked for. Otherwise the value at the deepest path failing is what is wrong (the errors
 * about its parents are a union's other branches, such as "body must be null"), and a
 * choice of constants lists them.
 */
function validationDetail (error: FastifyError): string {
  const errors = error.validation ?? []
  const where = error.validationContext ?? 'request'
  const extra = errors.find((e) => e.keyword === 'additionalProperties')
  const name: unknown = extra?.params.additionalProperty
  if (extra !== undefined && typeof name === 'string') return `${where}${extra.instancePath} has an unknown property ${JSON.stringify(name)}`
  const deepest = errors.reduce((path, e) => e.instancePath.length > path.length ? e.instancePath : path, '')
  const here = errors.filter((e) => e.instancePath === deepest)
  const path = `${where}${deepest}`
  const allowed = here.flatMap((e) => e.keyword === 'const' ? [e.params.allowedValue] : e.keyword === 'enum' ? e.params.allowedValues as unknown[] : [])
  const orObject = here.some((e) => e.keyword === 'type' && e.params.type === 'object') ? ', or an object' : ''
  if (allowed.length > 0) return `${path} must be one of ${allowed.map((v) => JSON.stringify(v)).join(', ')}${orObject}`
  const first = here.find((e) => e.keyword !== 'anyOf') ?? here[0]
  if (first === undefined) return error.message
  if (first.keyword === 'type' && first.params.type === 'boolean') return `${path} must be true or false`
  if (first.keyword === 'pattern') return `${path} is not well-formed`
  return `${path} ${first.message ?? 'is invalid'}`
}

/** What a 415 should say: what the routes that parse a body take. */
const MEDIA_TYPES = 'send JSON with Content-Type: application/json (the download page\'s form: application/x-www-form-urlencoded)'

const NO_QUERY = { type: 'object', properties: {}, additionalProperties: false }

export default fp(async function errorsPlugin (fastify) {
  // The one Problem schema, which every error response references (ProblemResponse).
  fastify.addSchema(ProblemSchema)

  fastify.setErrorHandler(function onError (error: FastifyError, request, reply) {
    if (error instanceof HttpError) reply.headers(error.headers)
    if (error.validation !== undefined) {
      return sendError(request, reply, 400, 'LG_BAD_REQUEST', validationDetail(error))
    }
    // Redis failing under another plugin (the rate-limit store) is the same outage.
    if (isRedisUnavailable(error)) {
      request.log.error({ err: { message: error.message } }, 'redis unavailable')
      return sendError(request, reply, 503, 'LG_DEPENDENCY_UNAVAILABLE', 'A dependency is unavailable, try again shortly')
    }
    const status = typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 600 ? error.statusCode : 500
    if (status >= 500) {
      // Our own 502/503 (a dependency failing) are expected: one line with the cause's
      // message; anything else is a bug, logged whole, and not for clients.
      const ours = typeof error.code === 'string' && error.code.startsWith('LG_')
      if (ours) request.log.error({ code: error.code, cause: (error.cause as Error | undefined)?.message }, error.message)
      else request.log.error({ err: error }, 'request failed')
      return sendError(request, reply, status, ours ? error.code : 'LG_INTERNAL', ours ? error.message : 'Internal Server Error')
    }
    request.log.info({ code: error.code, status }, error.message)
    const detail = status === 415 ? `${error.message}: ${MEDIA_TYPES}` : error.message
    return sendError(request, reply, status, publicCode(error.code, status), detail)
  })

  // A route that declares no query string takes none: an unknown parameter is refused like
  // an unknown property (the redemption routes declare theirs ignored, see schemas.ts).
  fastify.addHook('onRoute', (route) => {
    if (route.schema?.querystring === undefined) route.schema = { ...route.schema, querystring: NO_QUERY }
  })

  // Likewise a body where a route takes none (DELETE /v1/links/:id with options it would
  // ignore), unless the route streams its body itself (uploads).
  async function noBody (request: FastifyRequest): Promise<void> {
    const { body } = request
    if (body !== undefined && body !== null && body !== '') throw badRequest('LG_BAD_REQUEST', `${request.method} ${request.routeOptions.url ?? ''} takes no body`)
  }
  fastify.addHook('onRoute', (route) => {
    const methods = [route.method].flat()
    const streams = (route.config as { streamsBody?: boolean } | undefined)?.streamsBody === true
    if (route.schema?.body !== undefined || streams || !methods.some((m) => ['POST', 'PUT', 'PATCH', 'DELETE'].includes(m))) return
    route.preValidation = [noBody, ...[route.preValidation ?? []].flat()]
  })

  fastify.setNotFoundHandler(function onNotFound (request, reply) {
    // curl -T without -X POST sends a PUT.
    const hint = request.method === 'PUT' && request.url.startsWith('/v1/files') ? ': uploads are POST (with curl -T, add -X POST)' : ''
    return sendError(request, reply, 404, 'LG_ROUTE_NOT_FOUND', `No route for ${request.method} ${redactUrl(request.url)}${hint}`)
  })
}, { name: 'errors' })
