// A workaround, to delete once upstream is fixed: with coerceTypes, Ajv turns a query value
// like "1e400" or "Infinity" into a non-finite number that passes `type: integer` and skips
// its range checks. Routes that take numbers refuse such numbers (the others pay nothing).
//   https://github.com/ajv-validator/ajv/issues/2212
//   https://github.com/fastify/fastify/issues/6718 (fixes proposed: ajv-validator/ajv#2626, #2661)
import type { FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { badRequest } from '../src/errors.js'

async function finiteNumbers (request: FastifyRequest): Promise<void> {
  for (const [part, value] of [['querystring', request.query], ['params', request.params], ['body', request.body]] as const) {
    if (value === null || typeof value !== 'object') continue
    for (const [name, field] of Object.entries(value)) {
      if (typeof field === 'number' && !Number.isFinite(field)) throw badRequest('LG_BAD_REQUEST', `${part}/${name} must be a finite number`)
    }
  }
}

export default fp(async function finiteNumbersPlugin (fastify) {
  fastify.addHook('onRoute', (route) => {
    const { querystring, params, body } = route.schema ?? {}
    if (!/"type":"(number|integer)"/.test(JSON.stringify([querystring, params, body]))) return
    route.preHandler = [finiteNumbers, ...[route.preHandler ?? []].flat()]
  })
}, { name: 'finite-numbers' })
