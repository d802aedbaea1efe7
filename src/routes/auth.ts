// Browser sign-in with the organisation's identity provider (OIDC_ISSUER, OIDC_CLIENT_ID):
// the Authorization Code flow with PKCE, `state` and `nonce` checked by openid-client. The
// session is a sealed cookie (plugins/session.ts). Where a browser returns to is only ever
// a path on this gateway.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { randomBytes } from 'node:crypto'
import { Type } from 'typebox'
import { sameMac } from '../domain/secrets.js'
import { HttpError, unavailable } from '../errors.js'
import { ProviderUnavailable } from '../identity-provider.js'
import { identityFromClaims } from '../identity.js'
import { pageHeaders, signInFailedPage, signedOutPage } from '../pages.js'
import { ProblemResponse, errorResponses } from '../schemas.js'

/** A path on this gateway: one slash, then no slash or backslash (`//host`, `/\host` leave it), no control characters. */
export const LOCAL_PATH_PATTERN = '^/(?![/\\\\])[^\\x00-\\x1f\\x7f]{0,2047}$'
const LOCAL_PATH = new RegExp(LOCAL_PATH_PATTERN)

/** `value` when it is a path on this gateway, else '/'. */
export function localPath (value: string | undefined): string {
  return value !== undefined && LOCAL_PATH.test(value) ? value : '/'
}

/** Sends the browser to the provider to sign in, and back to `returnTo` afterwards. */
export async function beginSignIn (fastify: FastifyInstance, request: FastifyRequest, reply: FastifyReply, returnTo: string, prompt?: string): Promise<FastifyReply> {
  const provider = fastify.identityProvider
  if (provider === null || !fastify.signInEnabled) throw new HttpError(404, 'LG_NOT_FOUND', 'Browser sign-in is not configured')
  let start
  try {
    start = await provider.beginSignIn(prompt === undefined ? {} : { prompt })
  } catch (err) {
    throw err instanceof ProviderUnavailable ? unavailable('identity provider', err) : err
  }
  request.signInSession.set('signIn', { state: start.state, nonce: start.nonce, codeVerifier: start.codeVerifier, returnTo: localPath(returnTo) })
  return await reply.header('cache-control', 'no-store').redirect(start.url.href, 302)
}

/** The groups a session cookie holds: as many as fit in GROUPS_BUDGET characters (a cookie must stay under 4 KB). */
const GROUPS_BUDGET = 2500

function fitting (groups: readonly string[]): string[] {
  const kept: string[] = []
  let size = 0
  for (const group of groups) {
    size += group.length + 3
    if (size > GROUPS_BUDGET) break
    kept.push(group)
  }
  return kept
}

const SessionSchema = Type.Object({
  sub: Type.String(),
  email: Type.Union([Type.String(), Type.Null()]),
  groups: Type.Array(Type.String()),
  csrfToken: Type.String({ description: 'Send it as X-CSRF-Token on every unsafe /v1 call this session makes' })
})

const PROMPTS = Type.Union([Type.Literal('login'), Type.Literal('select_account')])

const authRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  if (!fastify.signInEnabled) return
  const { config } = fastify
  const provider = fastify.identityProvider
  const oidc = config.oidc
  if (provider === null || oidc === null) return
  const claimNames = { user: oidc.userClaim, groups: oidc.groupsClaim }
  const html = (reply: FastifyReply, status: number, body: string): FastifyReply => reply.code(status).headers(pageHeaders()).send(body)

  fastify.addHook('onRequest', (_request, reply, done) => {
    reply.header('cache-control', 'no-store')
    done()
  })

  fastify.get('/auth/login', {
    preHandler: fastify.apiRateLimit,
    schema: {
      summary: 'Sign in with the identity provider, then return to a path on this gateway',
      querystring: Type.Object({
        return: Type.String({ pattern: LOCAL_PATH_PATTERN, default: '/', description: 'A path on this gateway' }),
        prompt: Type.Optional(PROMPTS)
      }, { additionalProperties: false }),
      response: { 302: Type.Null(), ...errorResponses }
    }
  }, async (request, reply) => await beginSignIn(fastify, request, reply, request.query.return, request.query.prompt))

  fastify.get('/auth/callback', {
    preHandler: fastify.apiRateLimit,
    schema: {
      summary: 'Where the identity provider sends the browser back after sign-in',
      // Providers add parameters of their own (iss, session_state): not refused.
      querystring: Type.Object({
        code: Type.Optional(Type.String({ maxLength: 4096 })),
        state: Type.Optional(Type.String({ maxLength: 1024 })),
        error: Type.Optional(Type.String({ maxLength: 256 }))
      }, { additionalProperties: true }),
      response: { 303: Type.Null(), ...errorResponses }
    }
  }, async (request, reply) => {
    const pending = request.signInSession.get('signIn')
    request.signInSession.delete()
    const fail = (reason: string, status: number, message: string): FastifyReply => {
      fastify.audit(request, 'auth.sign_in_failed', { reason })
      return html(reply, status, signInFailedPage(message))
    }
    if (pending === undefined) return fail('no_sign_in', 400, 'This sign-in was not started in this browser, or took longer than ten minutes. Open the link again.')
    if (request.query.error !== undefined) {
      return fail(request.query.error === 'access_denied' ? 'access_denied' : 'provider_error', 403, 'The identity provider did not sign you in. Open the link again to retry.')
    }
    const search = new URL(request.url, config.publicUrl).search
    let claims
    try {
      claims = await provider.finishSignIn(new URL(`${config.publicUrl}/auth/callback${search}`), pending)
    } catch (err) {
      if (err instanceof ProviderUnavailable) throw unavailable('identity provider', err)
      request.log.warn({ reason: (err as Error).message }, 'sign-in refused')
      return fail('invalid_response', 400, 'The answer from the identity provider could not be verified. Open the link again to retry.')
    }
    const identity = identityFromClaims(claims, claimNames, 'session')
    if (identity === null) return fail('invalid_subject', 403, `Your account has no "${claimNames.user}" the gateway can use. Ask your administrator.`)
    const groups = fitting(identity.groups)
    if (groups.length < identity.groups.length) {
      request.log.warn({ kept: groups.length, of: identity.groups.length }, 'too many groups for a session cookie: only the first are kept (see docs/identity.md)')
    }
    request.session.set('user', { sub: identity.sub, groups, email: identity.email, csrf: randomBytes(32).toString('base64url') })
    request.identity = identity
    fastify.audit(request, 'auth.signed_in', {})
    return await reply.redirect(localPath(pending.returnTo), 303)
  })

  fastify.get('/auth/session', {
    schema: { summary: 'Who this browser is signed in as, and its CSRF token', response: { 200: SessionSchema, ...errorResponses } }
  }, async (request) => {
    const user = request.session.get('user')
    if (user === undefined) throw new HttpError(401, 'LG_UNAUTHENTICATED', 'Not signed in')
    return { sub: user.sub, email: user.email, groups: user.groups, csrfToken: user.csrf }
  })

  fastify.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 4096 }, (_request, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)))
  })

  fastify.post('/auth/logout', {
    schema: {
      summary: 'Sign out (here, and at the identity provider where it supports it)',
      consumes: ['application/x-www-form-urlencoded'],
      body: Type.Object({ csrf: Type.String({ maxLength: 200 }) }, { additionalProperties: false }),
      response: { 303: Type.Null(), ...errorResponses, 403: ProblemResponse }
    }
  }, async (request, reply) => {
    const user = request.session.get('user')
    if (user !== undefined) {
      // Only a page of this session may end it: another site cannot sign people out.
      if (!sameMac(request.body.csrf, user.csrf)) throw new HttpError(403, 'LG_CSRF', 'This form did not come from a page of this session')
      request.identity = { ...user, via: 'session', scopes: null }
      request.session.delete()
      fastify.audit(request, 'auth.signed_out', {})
    }
    const signedOut = `${config.publicUrl}/auth/signed-out`
    const endSession = await provider.endSessionUrl(signedOut)
    return await reply.redirect(endSession?.href ?? signedOut, 303)
  })

  fastify.get('/auth/signed-out', {
    schema: { summary: 'The page after signing out', response: { 200: { description: 'A page', content: { 'text/html': { schema: Type.String() } } } } }
  }, async (_request, reply) => html(reply, 200, signedOutPage()))
}

export default authRoutes
