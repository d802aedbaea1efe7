// Rate limits. Uploads and API calls are limited by @fastify/rate-limit (Redis as the store
// when Redis is configured, so limits hold across instances; memory otherwise); routes name
// their budget in `config.rateLimit`, from the presets decorated here:
//   upload  per JWT sub, UPLOAD_RATE_LIMIT a minute
//   api     per JWT sub, API_RATE_LIMIT a minute, shared by the other /v1 routes
// Share links (/s/*) are guarded by budgets kept by the LinkStore, so that a redemption
// spends them in the same atomic step (one Redis round trip) that reads and counts the link:
//   per client IP, REDEEM_RATE_LIMIT requests a minute, shared by GET/HEAD/POST /s/*;
//   misses (unknown or expired tokens, wrong passwords) per IP, and wrong passwords per
//   link too, REDEEM_MISS_LIMIT per 10 minutes; over it, /s/* answers 429 for the rest
//   of the window, even for valid tokens.
// If the store fails, requests fail closed with 503 (/v1 limits: unless RATE_LIMIT_FAIL_OPEN;
// /s/* cannot do without the LinkStore anyway).
import rateLimit, { type RateLimitOptions } from '@fastify/rate-limit'
import type { FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { hashToken } from '../src/domain/tokens.js'
import { jwtSubject } from './auth.js'
import { HttpError } from '../src/errors.js'
import type { Budget, BudgetVerdict } from '../src/stores/link-store.js'

const MINUTE = 60_000
const MISS_WINDOW = 10 * MINUTE

/** For /s/:token requests: the client is the IP, the link is the token's. */
export interface RedeemGuard {
  /** What a request spends before anything else: the client's misses (checked), then one of its requests. */
  budgets: (request: FastifyRequest) => Budget[]
  /** Spends budgets() on its own (for the routes that do not redeem in one step); throws a 429. */
  admit: (request: FastifyRequest) => Promise<void>
  /** The 429 for a refusal, audited. */
  refusal: (request: FastifyRequest, verdict: BudgetVerdict & { ok: false }) => HttpError
  /** Throws a 429 while this link's password has been guessed wrong too often. */
  checkPassword: (request: FastifyRequest) => Promise<void>
  /** Counts a miss against the client, and against the link for a wrong password. */
  miss: (request: FastifyRequest, options?: { wrongPassword?: boolean }) => Promise<void>
}

declare module 'fastify' {
  interface FastifyInstance {
    rateLimits: { upload: RateLimitOptions, api: RateLimitOptions }
    redeemGuard: RedeemGuard
  }
}

export const tooManyRequests = (retryAfterSeconds: number, headers: Record<string, string> = {}): HttpError =>
  new HttpError(429, 'LG_RATE_LIMITED', `Too many requests: try again in ${retryAfterSeconds} seconds`, headers)

function subject (request: FastifyRequest): string {
  return jwtSubject(request) ?? request.ip
}

export default fp(async function rateLimitPlugin (fastify) {
  const { limits } = fastify.config
  await fastify.register(rateLimit, {
    global: false,
    ...(fastify.redis === null ? {} : { redis: fastify.redis, nameSpace: 'ratelimit:' }),
    skipOnError: limits.failOpen,
    // RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset and Retry-After.
    enableDraftSpec: true,
    errorResponseBuilder: (_request, context) => tooManyRequests(Math.max(1, Math.ceil(context.ttl / 1000)))
  })

  fastify.decorate('rateLimits', {
    // Keyed by user, so these run after authentication.
    upload: { max: limits.uploadPerMinute, timeWindow: MINUTE, groupId: 'upload', hook: 'preHandler', keyGenerator: subject },
    api: { max: limits.apiPerMinute, timeWindow: MINUTE, groupId: 'api', hook: 'preHandler', keyGenerator: subject }
  })

  const { linkStore } = fastify
  const misses = (request: FastifyRequest, mode: Budget['mode']): Budget =>
    ({ key: `budget:miss:${request.ip}`, mode, max: limits.redeemMisses, windowMs: MISS_WINDOW })
  const passwordMisses = (request: FastifyRequest, mode: Budget['mode']): Budget => ({
    key: `budget:pwmiss:${hashToken((request.params as { token: string }).token)}`, mode, max: limits.redeemMisses, windowMs: MISS_WINDOW
  })
  const budgets = (request: FastifyRequest): Budget[] => [
    misses(request, 'check'),
    { key: `budget:redeem:${request.ip}`, mode: 'take', max: limits.redeemPerMinute, windowMs: MINUTE }
  ]

  function refusal (request: FastifyRequest, verdict: BudgetVerdict & { ok: false }): HttpError {
    fastify.audit(request, 'link.denied', { reason: 'rate_limited' })
    const wait = Math.max(1, Math.ceil(verdict.resetMs / 1000))
    return tooManyRequests(wait, {
      'retry-after': String(wait),
      'ratelimit-limit': String(verdict.refused.max),
      'ratelimit-remaining': '0',
      'ratelimit-reset': String(wait)
    })
  }

  async function spend (request: FastifyRequest, spent: Budget[]): Promise<void> {
    const verdict = await linkStore.spend(spent)
    if (!verdict.ok) throw refusal(request, verdict)
  }

  fastify.decorate('redeemGuard', {
    budgets,
    refusal,
    admit: async (request) => { await spend(request, budgets(request)) },
    checkPassword: async (request) => { await spend(request, [passwordMisses(request, 'check')]) },
    async miss (request, { wrongPassword = false } = {}) {
      // Counted whatever the count: the refusal comes with the next request's check.
      const counted = [misses(request, 'take'), ...(wrongPassword ? [passwordMisses(request, 'take')] : [])]
      await linkStore.spend(counted.map((budget) => ({ ...budget, max: Number.MAX_SAFE_INTEGER })))
    }
  } satisfies RedeemGuard)
}, { name: 'rate-limit', dependencies: ['redis', 'link-store', 'audit'] })
