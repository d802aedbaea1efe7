// One error handler and one not-found handler: every error is an RFC 9457 problem
// (application/problem+json) with a stable `code`, or a page for browsers; 5xx details
// stay in the log.
import type { FastifyError, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { redactUrl } from '../src/logger.js'
import { HttpError, badRequest } from '../src/errors.js'
import { sendError } from '../src/problem.js'
import { isRedisUnavailable } from '../src/stores/redis-link-store.js'

// Codes from Fastify and its plugins (FST_*) are theirs to change: clients get ours.
const CODES_BY_STATUS: Record<number, string> = {
  404: 'LG_NOT_FOUND',
  413: 'LG_PAYLOAD_TOO_LARGE',
  415: 'LG_UNSUPPORTED_MEDIA_TYPE',
  429: 'LG_RATE_LIMITED'
}

function publicCode (code: string | undefined, status: number): string {
  return code?.startsWith('LG_') === true ? code : (CODES_BY_STATUS[status] ?? 'LG_BAD_REQUEST')
}

export default fp(async function errorsPlugin (fastify) {
  fastify.setErrorHandler(function onError (error: FastifyError, request, reply) {
    if (error instanceof HttpError) reply.headers(error.headers)
    if (error.validation !== undefined) {
      return sendError(request, reply, 400, 'LG_BAD_REQUEST', error.message)
    }
    // Redis failing under another plugin (the rate-limit store) is the same outage.
    if (isRedisUnavailable(error)) {
      request.log.error({ err: { message: error.message } }, 'redis unavailable')
      return sendError(request, reply, 503, 'LG_DEPENDENCY_UNAVAILABLE', 'A dependency is unavailable, try again shortly')
    }
    const status = typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 600 ? error.statusCode : 500
    if (status >= 500) {
      request.log.error({ err: error }, 'request failed')
      // Our own 502/503 messages are safe to show; anything else is a bug, not for clients.
      const ours = typeof error.code === 'string' && error.code.startsWith('LG_')
      return sendError(request, reply, status, ours ? error.code : 'LG_INTERNAL', ours ? error.message : 'Internal Server Error')
    }
    request.log.info({ code: error.code, status }, error.message)
    return sendError(request, reply, status, publicCode(error.code, status), error.message)
  })

  // Ajv coerces a query value like "1e400" to Infinity and then skips its range checks
  // (a coerced non-finite number is not re-checked): the routes that take numbers refuse
  // such numbers (the others pay nothing for it).
  async function finiteNumbers (request: FastifyRequest): Promise<void> {
    for (const [part, value] of [['querystring', request.query], ['params', request.params], ['body', request.body]] as const) {
      if (value === null || typeof value !== 'object') continue
      for (const [name, field] of Object.entries(value)) {
        if (typeof field === 'number' && !Number.isFinite(field)) throw badRequest('LG_BAD_REQUEST', `${part}/${name} must be a finite number`)
      }
    }
  }
  fastify.addHook('onRoute', (route) => {
    const { querystring, params, body } = route.schema ?? {}
    if (!/"type":"(number|integer)"/.test(JSON.stringify([querystring, params, body]))) return
    route.preHandler = [finiteNumbers, ...[route.preHandler ?? []].flat()]
  })

  fastify.setNotFoundHandler(function onNotFound (request, reply) {
    return sendError(request, reply, 404, 'LG_ROUTE_NOT_FOUND', `No route for ${request.method} ${redactUrl(request.url)}`)
  })
}, { name: 'errors' })
