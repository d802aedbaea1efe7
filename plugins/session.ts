// The browser session, when sign-in is configured (OIDC_CLIENT_ID): an encrypted, signed
// cookie (@fastify/secure-session), so any instance serves the next request and no server
// keeps sessions. `lg_session` holds who signed in, for SESSION_TTL from the sign-in (never
// extended); `lg_signin` holds a sign-in in progress (state, nonce, PKCE verifier) for ten
// minutes, sent only to the callback.
import secureSession, { type Session, type SessionData } from '@fastify/secure-session'
import fp from 'fastify-plugin'
import { hkdfSync } from 'node:crypto'

export interface SessionUser {
  sub: string
  groups: string[]
  email: string | null
  /** The X-CSRF-Token of this session's unsafe API calls and the value its forms carry. */
  csrf: string
}

export interface SignInState {
  state: string
  nonce: string
  codeVerifier: string
  /** A path on this gateway to return to. */
  returnTo: string
}

declare module '@fastify/secure-session' {
  interface SessionData {
    user: SessionUser
    signIn: SignInState
  }
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The sign-in in progress (lg_signin); only where sign-in is configured. */
    signInSession: Session<SessionData>
  }
  interface FastifyInstance {
    /** Whether browser sign-in is configured (and request.session exists). */
    signInEnabled: boolean
  }
}

export const SESSION_COOKIE = 'lg_session'
export const SIGN_IN_COOKIE = 'lg_signin'
const SIGN_IN_TTL_S = 600

/** A 32-byte key of its own from each secret: the first seals, all open. */
function keys (secrets: string[]): Buffer[] {
  return secrets.map((secret) => Buffer.from(hkdfSync('sha256', secret, '', 'linkgate session cookie', 32)))
}

export default fp(async function sessionPlugin (fastify) {
  const { oidc, session, publicUrl } = fastify.config
  fastify.decorate('signInEnabled', oidc?.signIn != null && session !== null)
  if (!fastify.signInEnabled || session === null) return
  const key = keys(session.secrets)
  const secure = new URL(publicUrl).protocol === 'https:'
  await fastify.register(secureSession, [
    { sessionName: 'session', cookieName: SESSION_COOKIE, key, expiry: session.ttl, cookie: { path: '/', httpOnly: true, sameSite: 'lax', secure, maxAge: session.ttl } },
    { sessionName: 'signInSession', cookieName: SIGN_IN_COOKIE, key, expiry: SIGN_IN_TTL_S, cookie: { path: '/auth/callback', httpOnly: true, sameSite: 'lax', secure, maxAge: SIGN_IN_TTL_S } }
  ])
}, { name: 'session', dependencies: ['identity-provider'] })
