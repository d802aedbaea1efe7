// Liveness and readiness for load balancers and orchestrators.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { sendProblem } from '../problem.js'
import { ProblemResponse } from '../schemas.js'
import { withTimeout } from '../with-timeout.js'

const CHECK_TIMEOUT_MS = 2000
// Readiness is cached briefly, so that /readyz cannot be used to hammer Redis and S3.
const CACHE_MS = 1500

async function check (probe: () => Promise<void>): Promise<'ok' | 'unavailable'> {
  return await withTimeout(probe(), CHECK_TIMEOUT_MS).then(() => 'ok' as const, () => 'unavailable' as const)
}

const healthRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  type Status = 'ok' | 'unavailable'
  type Checks = Record<'linkStore' | 'objectStore', Status> & { identityProvider?: Status }
  let cached: { at: number, checks: Promise<Checks> } | null = null
  const provider = fastify.identityProvider
  const probe = async (): Promise<Checks> => {
    const [linkStore, objectStore, identityProvider] = await Promise.all([
      check(async () => { await fastify.linkStore.ping() }),
      check(async () => { await fastify.objectStore.ping() }),
      provider === null ? undefined : withTimeout(provider.check(), CHECK_TIMEOUT_MS).catch(() => 'unavailable' as const)
    ])
    return { linkStore, objectStore, ...(identityProvider === undefined ? {} : { identityProvider }) }
  }
  // Reported, never a reason to take the instance out: its cached keys keep verifying tokens.
  const REPORTED_ONLY = new Set(['identityProvider'])

  fastify.get('/healthz', {
    schema: { summary: 'The process is alive', response: { 200: Type.Object({ status: Type.Literal('ok') }) } }
  }, async () => ({ status: 'ok' as const }))

  fastify.get('/readyz', {
    schema: {
      summary: 'The link store and the object store answer (the identity provider is reported, and does not make the instance unready)',
      response: { 200: Type.Object({ status: Type.Literal('ready'), checks: Type.Record(Type.String(), Type.String()) }), 503: ProblemResponse }
    }
  }, async (_request, reply) => {
    const now = Date.now()
    if (cached === null || now - cached.at > CACHE_MS) cached = { at: now, checks: probe() }
    const checks = await cached.checks
    const failed = Object.entries(checks).filter(([k, v]) => v !== 'ok' && !REPORTED_ONLY.has(k)).map(([k]) => k)
    if (failed.length > 0) return sendProblem(reply.header('cache-control', 'no-store'), 503, 'LG_NOT_READY', `Not ready: ${failed.join(', ')} unavailable`)
    return { status: 'ready' as const, checks }
  })
}

export default healthRoutes
