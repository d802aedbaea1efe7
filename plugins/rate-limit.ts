// Rate limits, on @fastify/rate-limit with Redis as the store when Redis is configured (so
// limits hold across instances), in memory otherwise. Routes name their budget in their
// own `config.rateLimit`, from the presets decorated here:
//   redeem  per client IP, REDEEM_RATE_LIMIT a minute, shared by GET/HEAD/POST /s/*
//   upload  per JWT sub, UPLOAD_RATE_LIMIT a minute
//   api     per JWT sub, API_RATE_LIMIT a minute, shared by the other /v1 routes
// and the miss guard against token and password guessing: misses (unknown or expired
// tokens, wrong passwords) count per IP, and wrong passwords per link too, in a stricter
// budget (REDEEM_MISS_LIMIT per 10 minutes); over it, /s/* answers 429 for the rest of
// the window. If the store fails, requests fail closed with 503 unless RATE_LIMIT_FAIL_OPEN.
import rateLimit, { type RateLimitOptions } from '@fastify/rate-limit'
import type { FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { hashToken } from '../src/domain/tokens.js'
import { jwtSubject } from './auth.js'
import { HttpError } from '../src/errors.js'

const MINUTE = 60_000
const MISS_WINDOW = 10 * MINUTE

/** For /s/:token requests: the client is the IP, the link is the token's. */
export interface MissGuard {
  /** Throws a 429 while this client has missed too often. */
  checkClient: (request: FastifyRequest) => Promise<void>
  /** Throws a 429 while this link's password has been guessed wrong too often. */
  checkPassword: (request: FastifyRequest) => Promise<void>
  /** Counts a miss against the client, and against the link for a wrong password. */
  miss: (request: FastifyRequest, options?: { wrongPassword?: boolean }) => Promise<void>
}

declare module 'fastify' {
  interface FastifyInstance {
    rateLimits: { redeem: RateLimitOptions, upload: RateLimitOptions, api: RateLimitOptions }
    missGuard: MissGuard
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

  const onRedeemExceeded = (request: FastifyRequest): void => {
    fastify.audit(request, 'link.denied', { reason: 'rate_limited' })
  }
  fastify.decorate('rateLimits', {
    // After validation, like the miss guard: a malformed token costs no I/O.
    redeem: { max: limits.redeemPerMinute, timeWindow: MINUTE, groupId: 'redeem', hook: 'preHandler', keyGenerator: (r: FastifyRequest) => r.ip, onExceeded: onRedeemExceeded },
    // Keyed by user, so these run after authentication.
    upload: { max: limits.uploadPerMinute, timeWindow: MINUTE, groupId: 'upload', hook: 'preHandler', keyGenerator: subject },
    api: { max: limits.apiPerMinute, timeWindow: MINUTE, groupId: 'api', hook: 'preHandler', keyGenerator: subject }
  })

  const missesByIp = fastify.createRateLimit({ max: limits.redeemMisses, timeWindow: MISS_WINDOW, keyGenerator: (r) => `miss:${r.ip}` })
  const passwordMissesByLink = fastify.createRateLimit({
    max: limits.redeemMisses,
    timeWindow: MISS_WINDOW,
    keyGenerator: (r) => `pwmiss:${hashToken((r.params as { token: string }).token)}`
  })

  /** Reads without counting: the budget is spent once `max` misses were counted. */
  async function refuseWhenSpent (limiter: typeof missesByIp, request: FastifyRequest): Promise<void> {
    const state = await limiter(request, { increment: false })
    if (state.isAllowed || state.remaining > 0) return
    onRedeemExceeded(request)
    const wait = Math.max(1, state.ttlInSeconds)
    throw tooManyRequests(wait, {
      'retry-after': String(wait),
      'ratelimit-limit': String(state.max),
      'ratelimit-remaining': '0',
      'ratelimit-reset': String(wait)
    })
  }

  fastify.decorate('missGuard', {
    checkClient: async (request) => { await refuseWhenSpent(missesByIp, request) },
    checkPassword: async (request) => { await refuseWhenSpent(passwordMissesByLink, request) },
    async miss (request, { wrongPassword = false } = {}) {
      await missesByIp(request)
      if (wrongPassword) await passwordMissesByLink(request)
    }
  } satisfies MissGuard)
}, { name: 'rate-limit', dependencies: ['redis', 'audit'] })
