// Bearer JWT (HS256) for the /v1 API; `sub` is the user. Any failure is one 401.
import jwt from '@fastify/jwt'
import type { FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { unauthenticated, type HttpError } from '../src/errors.js'

declare module '@fastify/jwt' {
  interface FastifyJWT {
    payload: { sub: string }
    user: { sub: string }
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    authenticate: (request: FastifyRequest, reply: FastifyReply) => Promise<void>
  }
}

/** Clocks of issuers and gateways differ a little: exp, nbf and iat are checked with this slack. */
const CLOCK_TOLERANCE_MS = 30_000

/** fast-jwt checks `iat` only against a maxAge: a token issued in the future is refused here. */
function issuedInThePast (_request: FastifyRequest, payload: { iat?: unknown }): boolean {
  return payload.iat === undefined || (typeof payload.iat === 'number' && payload.iat * 1000 <= Date.now() + CLOCK_TOLERANCE_MS)
}

/** Why a token was refused, where saying it helps the one who made it. */
export function invalidTokenDetail (code: string | undefined, message: string): string {
  if (code === 'FST_JWT_AUTHORIZATION_TOKEN_UNTRUSTED') return 'The token was issued in the future ("iat"): check the clock of whoever signed it'
  if (message.includes('exp claim is required')) return 'The token has no "exp" claim: tokens must expire'
  return 'The bearer token is invalid'
}

export default fp(async function authPlugin (fastify) {
  await fastify.register(jwt, {
    secret: fastify.config.jwtSecret,
    sign: { algorithm: 'HS256' },
    // Only HS256: `none` and every asymmetric algorithm are refused. A token without `exp`
    // would be valid forever, so it is refused too.
    verify: { algorithms: ['HS256'], requiredClaims: ['exp'], clockTolerance: CLOCK_TOLERANCE_MS },
    trusted: issuedInThePast
  })

  fastify.decorate('authenticate', async function authenticate (request: FastifyRequest) {
    // Counted per client IP first: past AUTH_FAILURE_LIMIT the answer is a 429, not audited
    // again (a flood of bad tokens is one line of the limit's, not a line a request).
    const fail = async (reason: string, detail: string): Promise<HttpError> => {
      await fastify.authFailed(request)
      fastify.audit(request, 'auth.failed', { reason, sub: null })
      return unauthenticated(detail, { 'www-authenticate': 'Bearer' })
    }
    if (request.headers.authorization === undefined) throw await fail('missing_token', 'Missing Authorization: Bearer <JWT> header')
    try {
      await request.jwtVerify()
    } catch (err) {
      const { code, message } = err as { code?: string, message?: string }
      if (code === 'FST_JWT_AUTHORIZATION_TOKEN_EXPIRED') throw await fail('expired_token', 'The token has expired')
      throw await fail('invalid_token', invalidTokenDetail(code, message ?? ''))
    }
    const sub: unknown = request.user.sub
    if (typeof sub !== 'string' || sub === '' || sub.length > 256) throw await fail('invalid_subject', 'The token has no valid "sub" claim')
  })
}, { name: 'auth', dependencies: ['audit', 'rate-limit'] })
