// GET and HEAD /o/<key>: serve the embedded store's files behind URLs the gateway signed itself
// (the embedded stand-in for a presigned S3 URL). Tampered or expired → 403.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { isInlineSafe } from '../domain/disposition-policy.js'
import { HttpError, notFound } from '../errors.js'
import { ProblemResponse } from '../schemas.js'
import type { LocalObjectStore } from '../stores/local-object-store.js'

const localObjectRoutes: FastifyPluginAsyncTypebox<{ store: LocalObjectStore }> = async (fastify, { store }) => {
  // HEAD is declared with GET rather than derived from it: a derived HEAD would read the
  // whole file only to throw the bytes away.
  fastify.route({
    method: ['GET', 'HEAD'],
    url: '/o/*',
    schema: {
      summary: 'Download from the embedded object store with a gateway-signed URL',
      querystring: Type.Object({
        exp: Type.String({ maxLength: 20 }),
        ct: Type.String({ maxLength: 300 }),
        cd: Type.String({ maxLength: 2048 }),
        sig: Type.String({ maxLength: 100 })
      }, { additionalProperties: false }),
      response: { 200: Type.Any({ description: 'The file bytes' }), 403: ProblemResponse, 404: ProblemResponse }
    },
    handler: async (request, reply) => {
      const key = (request.params as { '*': string })['*']
      const verdict = store.verify(key, request.query)
      if (!verdict.ok) {
        throw new HttpError(403, 'LG_BAD_SIGNATURE', verdict.reason === 'expired' ? 'This download URL has expired' : 'This download URL is not valid')
      }
      const object = await store.open(key)
      if (object === null) throw notFound('Object')
      reply.headers({
        'content-type': verdict.contentType,
        'content-disposition': verdict.contentDisposition,
        'content-length': object.size,
        'cache-control': 'private, no-store',
        'x-content-type-options': 'nosniff',
        'referrer-policy': 'no-referrer',
        // These URLs are on the gateway's own origin: a type that could run script (served
        // inline only with ALLOW_ACTIVE_INLINE) runs in a sandbox, an origin of its own.
        ...(isInlineSafe(verdict.contentType) ? {} : { 'content-security-policy': 'sandbox' })
      })
      return await reply.send(request.method === 'HEAD' ? undefined : object.stream())
    }
  })
}

export default localObjectRoutes
