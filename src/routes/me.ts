// GET /v1/me: the caller, their usage against their quota, and the limits their uploads meet.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { ownerOf } from '../identity.js'
import { MeSchema, errorResponses } from '../schemas.js'
import { remaining, usageKey } from '../stores/usage-store.js'

const meRoute: FastifyPluginAsyncTypebox = async (fastify) => {
  const { quota, maxUploadBytes, limits } = fastify.config

  fastify.get('/me', {
    config: { scope: 'any' },
    schema: { summary: "The caller's usage, quota and upload limits", response: { 200: MeSchema, ...errorResponses } }
  }, async (request, reply) => {
    const user = ownerOf(request)
    const usage = await fastify.usageStore.get(usageKey(user))
    reply.header('cache-control', 'no-store')
    return {
      user,
      usage,
      limits: { quotaBytes: quota.bytes, quotaFiles: quota.files, maxUploadBytes, uploadConcurrency: limits.uploadConcurrency },
      remaining: remaining(usage, quota)
    }
  })
}

export default meRoute
