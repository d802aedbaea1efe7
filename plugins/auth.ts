// Who a request is. A bearer credential: a personal API token (lgp_…), a JWT of the
// organisation's identity provider (OIDC_ISSUER, checked against its published keys), or a
// JWT signed with JWT_SECRET (HS256); in a browser, the session cookie. `authenticate`
// requires one (the /v1 API); `identify` takes one where there is one (redemption).
import jwt from '@fastify/jwt'
import type { FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { timingSafeEqual } from 'node:crypto'

import { HttpError, unauthenticated, unavailable } from '../src/errors.js'
import { InvalidToken, ProviderUnavailable } from '../src/identity-provider.js'
import { identityFromClaims, type Identity } from '../src/identity.js'
import { PERSONAL_TOKEN_PREFIX, hashToken } from '../src/domain/tokens.js'

declare module '@fastify/jwt' {
  interface FastifyJWT {
    payload: { sub: string }
    user: Record<string, unknown>
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    /** onRequest hook: the request must carry a valid credential (401 otherwise). */
    authenticate: (request: FastifyRequest, reply: FastifyReply) => Promise<void>
    /**
     * The request's identity, null when it presents none; a bad bearer credential is a 401.
     * `bearer: false` looks at the browser session only (nothing to verify, nothing to refuse).
     */
    identify: (request: FastifyRequest, options?: { bearer?: boolean }) => Promise<Identity | null>
  }
}

/** Clocks of issuers and gateways differ a little: exp, nbf and iat are checked with this slack. */
const CLOCK_TOLERANCE_MS = 30_000
const BEARER = /^Bearer +([A-Za-z0-9._~+/-]+=*) *$/i
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])
/** The gateway's own tokens name their user in `sub`, their groups in `groups`. */
const OWN_CLAIMS = { user: 'sub', groups: 'groups' }

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

/** The `alg` of a JWT's header, or null when it is not one. */
function algorithmOf (token: string): string | null {
  try {
    const header: unknown = JSON.parse(Buffer.from(token.slice(0, token.indexOf('.')), 'base64url').toString())
    return typeof header === 'object' && header !== null && typeof (header as { alg?: unknown }).alg === 'string' ? (header as { alg: string }).alg : null
  } catch {
    return null
  }
}

function sameSecret (a: string, b: string): boolean {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}

class Refusal extends Error {
  constructor (readonly reason: string, message: string) { super(message) }
}

export default fp(async function authPlugin (fastify) {
  const { config, identityProvider: provider, tokenStore } = fastify
  const claimNames = config.oidc === null ? OWN_CLAIMS : { user: config.oidc.userClaim, groups: config.oidc.groupsClaim }
  await fastify.register(jwt, {
    secret: config.jwtSecret,
    sign: { algorithm: 'HS256' },
    // Only HS256: `none` and every asymmetric algorithm are refused here (the identity
    // provider's tokens go to it). A token without `exp` would be valid forever: refused too.
    verify: { algorithms: ['HS256'], requiredClaims: ['exp'], clockTolerance: CLOCK_TOLERANCE_MS },
    trusted: issuedInThePast
  })
  fastify.decorateRequest('identity', null)

  async function personalToken (token: string): Promise<Identity> {
    const found = await tokenStore.findToken(hashToken(token))
    if (found === null) throw new Refusal('invalid_token', 'The API token is unknown, expired or revoked')
    return { sub: found.owner, groups: [], email: null, via: 'token', scopes: found.scopes }
  }

  async function ownJwt (request: FastifyRequest): Promise<Identity> {
    try {
      await request.jwtVerify()
    } catch (err) {
      const { code, message } = err as { code?: string, message?: string }
      if (code === 'FST_JWT_AUTHORIZATION_TOKEN_EXPIRED') throw new Refusal('expired_token', 'The token has expired')
      throw new Refusal('invalid_token', invalidTokenDetail(code, message ?? ''))
    }
    const identity = identityFromClaims(request.user, OWN_CLAIMS, 'jwt')
    if (identity === null) throw new Refusal('invalid_subject', 'The token has no valid "sub" claim')
    return identity
  }

  async function providerJwt (token: string): Promise<Identity> {
    if (provider === null) throw new Refusal('invalid_token', 'The bearer token is invalid')
    let claims
    try {
      claims = await provider.verify(token)
    } catch (err) {
      if (err instanceof ProviderUnavailable) throw unavailable('identity provider', err)
      if (err instanceof InvalidToken) throw new Refusal(err.reason, err.message)
      throw err
    }
    const identity = identityFromClaims(claims, claimNames, 'provider')
    if (identity === null) throw new Refusal('invalid_subject', `The token has no valid "${claimNames.user}" claim`)
    return identity
  }

  /** The identity a bearer header proves; throws a Refusal (or a 503 while the provider is unreachable). */
  async function bearer (request: FastifyRequest, header: string): Promise<Identity> {
    const token = BEARER.exec(header)?.[1]
    if (token === undefined) throw new Refusal('invalid_token', 'The Authorization header must be "Bearer <token>"')
    if (token.startsWith(PERSONAL_TOKEN_PREFIX)) return await personalToken(token)
    const alg = algorithmOf(token)
    if (config.acceptHs256 && (alg === 'HS256' || provider === null)) return await ownJwt(request)
    return await providerJwt(token)
  }

  /** Audits and counts a refused credential (past AUTH_FAILURE_LIMIT: a 429) and returns its 401. */
  async function refused (request: FastifyRequest, reason: string, detail: string): Promise<HttpError> {
    // A flood of bad tokens is one line of the limit's, not a line a request: counted first.
    await fastify.authFailed(request)
    fastify.audit(request, 'auth.failed', { reason, sub: null })
    return unauthenticated(detail, { 'www-authenticate': 'Bearer' })
  }

  /** The signed-in browser's identity, or null. */
  function sessionIdentity (request: FastifyRequest): Identity | null {
    if (!fastify.signInEnabled) return null
    const user = request.session.get('user')
    return user === undefined ? null : { sub: user.sub, groups: user.groups, email: user.email, via: 'session', scopes: null }
  }

  async function identify (request: FastifyRequest, { bearer: withBearer = true } = {}): Promise<Identity | null> {
    if (request.identity !== null) return request.identity
    const header = request.headers.authorization
    if (header === undefined || !withBearer) {
      request.identity = sessionIdentity(request)
      return request.identity
    }
    try {
      request.identity = await bearer(request, header)
      return request.identity
    } catch (err) {
      if (err instanceof Refusal) throw await refused(request, err.reason, err.message)
      throw err
    }
  }
  fastify.decorate('identify', identify)

  fastify.decorate('authenticate', async function authenticate (request: FastifyRequest) {
    const identity = await identify(request)
    if (identity === null) {
      throw await refused(request, 'missing_token', fastify.signInEnabled
        ? 'Missing Authorization: Bearer <token> header (or a signed-in browser session)'
        : 'Missing Authorization: Bearer <JWT> header')
    }
    // A session rides on a cookie the browser sends by itself: an unsafe call must also
    // prove it comes from a page of this gateway.
    if (identity.via === 'session' && !SAFE_METHODS.has(request.method)) {
      const token = request.headers['x-csrf-token']
      const csrf = request.session.get('user')?.csrf ?? ''
      if (typeof token !== 'string' || !sameSecret(token, csrf)) {
        throw new HttpError(403, 'LG_CSRF', 'A signed-in browser\'s request must carry its X-CSRF-Token header (from GET /auth/session)')
      }
    }
  })
}, { name: 'auth', dependencies: ['audit', 'rate-limit', 'stores', 'identity-provider', 'session'] })
