// Rate limits. Uploads and API calls are limited by @fastify/rate-limit (Redis as the store
// when Redis is configured, so limits hold across instances; memory otherwise):
//   upload        per JWT sub, UPLOAD_RATE_LIMIT a minute (POST /v1/files' route config)
//   apiRateLimit  per JWT sub, API_RATE_LIMIT a minute, one budget for all other /v1 routes
//                 (a preHandler: a route-config limit would be a budget per route)
//   auth failures per client IP, AUTH_FAILURE_LIMIT per 10 minutes, counted when a bearer
//                 token fails (nothing is spent by a valid one); over it, 429
// A client without a token is its address: an IPv4 address, or an IPv6 /64 (clientKey).
// Share links (/s/*) are guarded by budgets kept by the LinkStore, so that a redemption
// spends them in the same atomic step (one Redis round trip) that reads and counts the link
// (docs/decisions/0003-budgets-inside-the-redeem-script.md):
//   per client IP, REDEEM_RATE_LIMIT requests a minute, shared by GET/HEAD/POST /s/*;
//   misses (unknown or expired tokens, forged forms, wrong passwords) per IP, and wrong
//   passwords per link too, REDEEM_MISS_LIMIT per 10 minutes; over it, /s/* answers 429 for
//   the rest of the window, even for valid tokens. Every /s/* request reserves a miss before
//   it looks (given back once it is not one: in the redeem script itself for GET), and a
//   password check reserves its misses before scrypt runs (given back when the password was
//   right), so that parallel guesses never look up or check more than the limit; PASSWORD_CHECK_CONCURRENCY checks run at once
//   in a process, half of them at most for one link, and the rest are refused at once.
// If the store fails, requests fail closed with 503 (/v1 limits: unless RATE_LIMIT_FAIL_OPEN;
// /s/* cannot do without the LinkStore anyway).
import rateLimit, { type RateLimitOptions } from '@fastify/rate-limit'
import type { FastifyRequest, preHandlerAsyncHookHandler } from 'fastify'
import fp from 'fastify-plugin'
import { clientKey } from '../src/domain/client-key.js'
import { ConcurrencyLimit } from '../src/domain/concurrency-limit.js'
import { hashToken } from '../src/domain/tokens.js'
import { subjectOf } from '../src/identity.js'
import { HttpError } from '../src/errors.js'
import type { Budget, BudgetVerdict } from '../src/stores/budget-store.js'
import type { LinkRecord } from '../src/stores/link-store.js'

const MINUTE = 60_000
const MISS_WINDOW = 10 * MINUTE

/** A password check that may run: its misses are reserved and it holds a check slot. */
export interface PasswordAttempt {
  /** The password was right: the reserved misses are given back. */
  refund: () => Promise<void>
  /** Frees the check slot; call it whatever the outcome. */
  release: () => void
}

/** For /s/:token requests: the client is the IP, the link is the token's. */
export interface RedeemGuard {
  /** What a redemption spends first: a miss of the client's, reserved, then one of its requests. */
  spent: (request: FastifyRequest) => { misses: Budget, budgets: Budget[] }
  /** Spends spent() on its own (for the routes that do not redeem in one step); throws a 429. */
  admit: (request: FastifyRequest) => Promise<void>
  /** After admit(): the token was no miss (a live link), so its reserved miss is given back. */
  notAMiss: (request: FastifyRequest) => Promise<void>
  /** The 429 for a refusal, audited (in the link's history when there is a link). */
  auditedRefusal: (request: FastifyRequest, verdict: BudgetVerdict & { ok: false }, link?: LinkRecord) => HttpError
  /** Takes a check slot and reserves a miss for the client and for the link; throws a 429 (audited) when either is spent. */
  passwordAttempt: (request: FastifyRequest, link: LinkRecord) => Promise<PasswordAttempt>
}

declare module 'fastify' {
  interface FastifyInstance {
    rateLimits: { upload: RateLimitOptions }
    /** preHandler of every /v1 route but uploads: API_RATE_LIMIT per user, one budget. */
    apiRateLimit: preHandlerAsyncHookHandler
    /** Counts a failed authentication against the client IP; throws the 429 once over AUTH_FAILURE_LIMIT. */
    authFailed: (request: FastifyRequest) => Promise<void>
    redeemGuard: RedeemGuard
  }
}

export const tooManyRequests = (retryAfterSeconds: number, headers: Record<string, string> = {}): HttpError =>
  new HttpError(429, 'LG_RATE_LIMITED', `Too many requests: try again in ${retryAfterSeconds} second${retryAfterSeconds === 1 ? '' : 's'}`, headers)

function subject (request: FastifyRequest): string {
  return subjectOf(request) ?? clientKey(request.ip)
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
    // Keyed by user, so it runs after authentication.
    // (No groupId: the route's own store already keys by route, and a groupId would also be
    // appended to the keys of the auth-failure limiter on this route.)
    upload: { max: limits.uploadPerMinute, timeWindow: MINUTE, hook: 'preHandler', keyGenerator: subject }
  })
  // Limiters made by fastify.rateLimit()/createRateLimit() share one store namespace: the key says which budget.
  fastify.decorate('apiRateLimit', fastify.rateLimit({ max: limits.apiPerMinute, timeWindow: MINUTE, keyGenerator: (request) => `api:${subject(request)}` }))
  const authFailures = fastify.createRateLimit({ max: limits.authFailures, timeWindow: MISS_WINDOW, keyGenerator: (request) => `authfail:${clientKey(request.ip)}` })
  fastify.decorate('authFailed', async (request: FastifyRequest) => {
    const counted = await authFailures(request)
    if (counted.isAllowed || !counted.isExceeded) return
    const wait = Math.max(1, counted.ttlInSeconds)
    throw tooManyRequests(wait, { 'retry-after': String(wait), 'ratelimit-limit': String(counted.max), 'ratelimit-remaining': '0', 'ratelimit-reset': String(wait) })
  })

  const { budgetStore } = fastify
  const misses = (request: FastifyRequest): Budget =>
    ({ key: `budget:miss:${clientKey(request.ip)}`, mode: 'take', max: limits.redeemMisses, windowMs: MISS_WINDOW })
  const passwordMisses = (request: FastifyRequest): Budget => ({
    key: `budget:pwmiss:${hashToken((request.params as { token: string }).token)}`, mode: 'take', max: limits.redeemMisses, windowMs: MISS_WINDOW
  })
  const spent = (request: FastifyRequest): { misses: Budget, budgets: Budget[] } => ({
    misses: misses(request),
    budgets: [{ key: `budget:redeem:${clientKey(request.ip)}`, mode: 'take', max: limits.redeemPerMinute, windowMs: MINUTE }]
  })
  // One link may take half of the checks (at least one): a hot link cannot starve the others.
  const passwordChecks = new ConcurrencyLimit(limits.passwordChecks, Math.max(1, Math.floor(limits.passwordChecks / 2)))

  function auditedRefusal (request: FastifyRequest, verdict: BudgetVerdict & { ok: false }, link?: LinkRecord): HttpError {
    fastify.audit(request, 'link.denied', { reason: 'rate_limited' }, link)
    const wait = Math.max(1, Math.ceil(verdict.resetMs / 1000))
    return tooManyRequests(wait, {
      'retry-after': String(wait),
      'ratelimit-limit': String(verdict.refused.max),
      'ratelimit-remaining': '0',
      'ratelimit-reset': String(wait)
    })
  }

  async function passwordAttempt (request: FastifyRequest, link: LinkRecord): Promise<PasswordAttempt> {
    const release = passwordChecks.tryAcquire(link.id)
    if (release === null) {
      fastify.audit(request, 'link.denied', { reason: 'rate_limited' }, link)
      throw tooManyRequests(1, { 'retry-after': '1' })
    }
    try {
      // Spend first: a guess is counted before it is checked, whatever runs in parallel.
      const reserved = [misses(request), passwordMisses(request)]
      const verdict = await budgetStore.spend(reserved)
      if (!verdict.ok) {
        // A refused reservation is no guess: give back what it took (the refused budget
        // counted too), so that the counts stay those of the checks that ran.
        await budgetStore.refund(reserved.slice(0, reserved.indexOf(verdict.refused) + 1))
        throw auditedRefusal(request, verdict, link)
      }
      return { refund: async () => { await budgetStore.refund(reserved) }, release }
    } catch (err) {
      release()
      throw err
    }
  }

  fastify.decorate('redeemGuard', {
    spent,
    auditedRefusal,
    passwordAttempt,
    async admit (request) {
      const { misses, budgets } = spent(request)
      const verdict = await budgetStore.spend([misses, ...budgets])
      if (verdict.ok) return
      // Refused: nothing was looked up, so nothing was missed.
      await budgetStore.refund([misses])
      throw auditedRefusal(request, verdict)
    },
    notAMiss: async (request) => { await budgetStore.refund([misses(request)]) }
  } satisfies RedeemGuard)
}, { name: 'rate-limit', dependencies: ['redis', 'stores', 'audit'] })
