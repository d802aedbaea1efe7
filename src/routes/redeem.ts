// GET /s/:token — public redemption. The token's shape is checked by the schema before
// any I/O; one atomic store call decides; the answer is a 302 to a fresh short-lived URL.
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { TOKEN_PATTERN, hashToken } from '../domain/tokens.js'
import { notFound } from '../errors.js'
import { errorResponses } from '../schemas.js'

const redeemRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  const { linkStore, objectStore } = fastify
  const { signedUrlTtl } = fastify.config

  // Whatever the outcome, nothing about a share link may be cached, indexed or leaked onwards.
  fastify.addHook('onRequest', async (_request, reply) => {
    reply.headers({ 'cache-control': 'no-store', 'referrer-policy': 'no-referrer', 'x-robots-tag': 'noindex' })
  })

  fastify.get('/s/:token', {
    schema: {
      summary: 'Redeem a share link: 302 to a presigned download URL',
      params: Type.Object({ token: Type.String({ pattern: TOKEN_PATTERN, description: 'The share token' }) }),
      response: { 302: Type.Null(), ...errorResponses }
    }
  }, async (request, reply) => {
    const result = await linkStore.redeem(hashToken(request.params.token))
    if (!result.ok) {
      request.log.info({ linkId: result.link?.id, reason: result.reason }, 'link denied')
      // Expired, revoked and exhausted links look the same as unknown ones from outside.
      throw notFound('Link')
    }
    const { link } = result
    const url = await objectStore.signedUrl(link.objectKey, {
      filename: link.filename,
      contentType: link.contentType,
      disposition: 'attachment',
      expiresIn: signedUrlTtl
    })
    request.log.info({ linkId: link.id, fileId: link.fileId, downloads: link.downloads }, 'link redeemed')
    return await reply.redirect(url, 302)
  })
}

export default redeemRoutes
