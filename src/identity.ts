// Who a request is, once plugins/auth.ts has verified what it presented (a JWT of the
// gateway's or of the identity provider, a personal API token, or a browser session): one
// identity, whatever proved it.
import type { FastifyRequest } from 'fastify'
import type { Visitor } from './domain/access.js'
import type { Scope } from './domain/scopes.js'
import { HttpError } from './errors.js'

export interface Identity extends Visitor {
  /** What proved it. */
  via: 'jwt' | 'provider' | 'token' | 'session'
  /** A personal API token's scopes; null: everything (a JWT or a session). */
  scopes: readonly Scope[] | null
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the auth plugin's authenticate or identify; null: nobody (yet). */
    identity: Identity | null
  }
}

export interface ClaimNames {
  /** The claim that names the user (USER_CLAIM). */
  user: string
  /** The claim that lists the user's groups (GROUPS_CLAIM). */
  groups: string
}

const MAX_SUBJECT = 256
const MAX_GROUPS = 1000

/** The identity a verified set of claims proves, or null when it names no usable user. */
export function identityFromClaims (claims: Record<string, unknown>, names: ClaimNames, via: Identity['via']): Identity | null {
  const sub = claims[names.user]
  if (typeof sub !== 'string' || sub === '' || sub.length > MAX_SUBJECT) return null
  const groups = claims[names.groups]
  const email = claims.email
  return {
    sub,
    groups: Array.isArray(groups) ? groups.filter((g): g is string => typeof g === 'string').slice(0, MAX_GROUPS) : [],
    // Only an address the provider verified: anyone can type an address into a profile.
    email: typeof email === 'string' && claims.email_verified === true ? email : null,
    via,
    scopes: null
  }
}

/** The user id of a request's verified identity, else null. */
export function subjectOf (request: FastifyRequest): string | null {
  return request.identity?.sub ?? null
}

/** The user id of an authenticated request (the routes behind authenticate). */
export function ownerOf (request: FastifyRequest): string {
  const sub = subjectOf(request)
  if (sub === null) throw new HttpError(401, 'LG_UNAUTHENTICATED', 'Not authenticated')
  return sub
}

/**
 * Throws 403 unless the request's credential may do `scope`: a personal token only what it
 * was given (never 'account', managing tokens); a JWT or a session everything.
 */
export function requireScope (request: FastifyRequest, scope: Scope | 'account'): void {
  const granted = request.identity?.scopes ?? null
  if (granted === null || (granted as readonly string[]).includes(scope)) return
  throw new HttpError(403, 'LG_SCOPE', scope === 'account'
    ? 'Personal tokens cannot manage tokens: sign in, or use a JWT'
    : `This token lacks the "${scope}" scope`)
}
