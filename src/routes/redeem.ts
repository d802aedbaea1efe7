// /s/:token — public redemption. The token's shape is checked by the schema before any
// I/O; one atomic store call decides and counts; the answer is a redirect to a fresh
// short-lived URL. Guarded links (restricted, password, or limited for a browser) take
// a detour: the checks, or a page whose form spends the download, so that a browser's or a
// link-preview bot's GET or HEAD never consumes one (bots get a page that names nothing).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { DenialReason } from '../audit.js'
import { accessDenial } from '../domain/access.js'
import { effectiveDisposition } from '../domain/disposition-policy.js'
import { checkFormNonce, formNonce } from '../domain/form-nonce.js'
import { headerText } from '../domain/header-text.js'
import { prefersHtml } from '../domain/negotiation.js'
import { verifyPassword } from '../domain/password.js'
import { isPreviewBot } from '../domain/preview-bots.js'
import { deriveKey } from '../domain/secrets.js'
import { TOKEN_PATTERN, hashToken } from '../domain/tokens.js'
import { HttpError } from '../errors.js'
import type { Identity } from '../identity.js'
import { downloadPage, notSharedPage, pageHeaders, previewPage, type Account } from '../pages.js'
import { beginSignIn } from './auth.js'
import { IgnoredQuerySchema, ProblemResponse, errorResponses } from '../schemas.js'
import { isMiss, linkStatus, type LinkRecord, type RedeemResult } from '../stores/link-store.js'

const TokenParamsSchema = Type.Object({ token: Type.String({ pattern: TOKEN_PATTERN, description: 'The share token' }) })
const FormSchema = Type.Object({
  nonce: Type.String({ maxLength: 200 }),
  password: Type.Optional(Type.String({ maxLength: 256 }))
}, { additionalProperties: false })
const redeemErrors = { ...errorResponses, 403: ProblemResponse }

const PRIVATE = { 'cache-control': 'no-store', 'referrer-policy': 'no-referrer', 'x-robots-tag': 'noindex' }

const linkGone = (): HttpError => new HttpError(404, 'LG_NOT_FOUND', 'This link is unknown, has expired, was revoked or has been used up.')

const redeemRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  const { linkStore, objectStore, config, redeemGuard: guard } = fastify
  const formSecret = deriveKey(config.jwtSecret, 'download form')
  const publicOrigin = new URL(config.publicUrl).origin

  // Whatever the outcome, nothing about a share link may be cached, indexed or leaked onwards.
  // (A callback hook: an async one costs a promise on every redemption.)
  fastify.addHook('onRequest', (_request, reply, done) => {
    reply.headers(PRIVATE)
    done()
  })
  fastify.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 4096 }, (_request, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)))
  })

  /** Who a browser's pages say is signed in, with the CSRF token of its sign-out form; null for a bearer or nobody. */
  function account (request: FastifyRequest): Account | null {
    const user = fastify.signInEnabled && request.identity?.via === 'session' ? request.session.get('user') : undefined
    return user === undefined ? null : { name: user.email ?? user.sub, csrf: user.csrf }
  }

  /** What the download form's nonce is bound to: the link, and the browser's session if it has one. */
  function formScope (request: FastifyRequest, link: LinkRecord): string {
    return `${link.id}\n${account(request)?.csrf ?? ''}`
  }

  /**
   * The origins a page's forms may lead to: this gateway; the object store where it has a
   * download form; the identity provider where it has a sign-out form.
   */
  async function formTargets (request: FastifyRequest, download: boolean): Promise<string[]> {
    return [...new Set([
      publicOrigin,
      ...(download ? [await objectStore.downloadOrigin()] : []),
      ...(account(request) === null ? [] : fastify.identityProvider?.origins() ?? [])
    ])]
  }

  /**
   * Audits the refusal and returns the error to throw. (Misses are not counted here: every
   * request reserved one before it looked, see plugins/rate-limit.ts.)
   */
  function auditDenial (request: FastifyRequest, reason: DenialReason, link: LinkRecord | null, error: HttpError): HttpError {
    fastify.audit(request, 'link.denied', { reason }, link)
    return error
  }

  /** The answer to a redemption that failed, audited. Guarded after the checks: it changed meanwhile. */
  function auditFailure (request: FastifyRequest, result: RedeemResult & { ok: false }): HttpError {
    if (result.reason === 'limited') return guard.auditedRefusal(request, result.verdict)
    return auditDenial(request, result.reason === 'guarded' ? 'not_found' : result.reason, result.link, linkGone())
  }

  /**
   * null when the visitor may redeem the link. Otherwise (audited) a browser is answered
   * here: sent to sign in, or shown that the link is not shared with it; anyone else gets
   * the error thrown.
   */
  async function checkAccess (link: LinkRecord, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | null> {
    if (link.access === 'public') return null
    let visitor: Identity | null
    try {
      visitor = await fastify.identify(request)
    } catch (err) {
      throw auditDenial(request, 'unauthenticated', link, err as HttpError)
    }
    // A personal token opens a restricted link only with files:read (not an upload script's token).
    if (visitor?.scopes != null && !visitor.scopes.includes('files:read')) {
      throw auditDenial(request, 'forbidden', link, new HttpError(403, 'LG_SCOPE', 'This token lacks the "files:read" scope'))
    }
    const denial = accessDenial(link.access, link.owner, visitor)
    if (denial === null) return null
    const html = prefersHtml(request.headers.accept)
    const here = `/s/${(request.params as { token: string }).token}`
    if (denial === 'unauthenticated') {
      const error = new HttpError(401, 'LG_LINK_RESTRICTED', fastify.signInEnabled
        ? 'This link is restricted: sign in, or present a bearer token (Authorization: Bearer <token>)'
        : 'This link is restricted: present a bearer token (Authorization: Bearer <token>)')
      auditDenial(request, denial, link, error)
      if (html && fastify.signInEnabled) return await beginSignIn(fastify, request, reply, here)
      throw error
    }
    const error = new HttpError(403, 'LG_LINK_FORBIDDEN', 'This link is not shared with you')
    auditDenial(request, denial, link, error)
    const signedIn = account(request)
    if (html && signedIn !== null) {
      return await reply.code(403).headers(pageHeaders(await formTargets(request, false)))
        .send(notSharedPage(signedIn, `/auth/login?return=${encodeURIComponent(here)}&prompt=login`))
    }
    throw error
  }

  /**
   * Throws (audited) unless the link has no password or `password` is its password. The
   * guess is counted before scrypt runs, and given back when it was right.
   */
  async function checkPassword (request: FastifyRequest, link: LinkRecord, password: string | undefined): Promise<void> {
    if (link.passwordHash === null) return
    if (password === undefined || password === '') {
      throw auditDenial(request, 'unauthenticated', link, new HttpError(401, 'LG_PASSWORD_REQUIRED', 'This link needs its password (X-Link-Password header)'))
    }
    const attempt = await guard.passwordAttempt(request, link)
    try {
      if (await verifyPassword(password, link.passwordHash)) {
        await attempt.refund()
        return
      }
    } finally {
      attempt.release()
    }
    throw auditDenial(request, 'bad_password', link, new HttpError(403, 'LG_PASSWORD_WRONG', 'Wrong password'))
  }

  async function redirect (request: FastifyRequest, reply: FastifyReply, link: LinkRecord, status: 302 | 303): Promise<FastifyReply> {
    const url = await objectStore.signedUrl(link.objectKey, {
      filename: link.filename,
      contentType: link.contentType,
      // Decided again at each redemption: a link made under an older, laxer rule (or before
      // ALLOW_ACTIVE_INLINE was turned off) gets no inline it may no longer have.
      disposition: effectiveDisposition(link.disposition, link.contentType, config.allowActiveInline),
      expiresIn: config.signedUrlTtl
    })
    // A signed-in browser is named in the trail even where the link did not ask who it is.
    if (request.identity === null && fastify.signInEnabled) await fastify.identify(request, { bearer: false })
    fastify.audit(request, 'link.redeemed', { bytes: link.size }, link)
    return await reply.redirect(url, status)
  }

  async function page (request: FastifyRequest, reply: FastifyReply, link: LinkRecord, status = 200, error?: string): Promise<FastifyReply> {
    // The form's nonce is bound to the browser's session (as its POST will find it), even on
    // a public link, where nothing asked who it is yet.
    if (fastify.signInEnabled) await fastify.identify(request, { bearer: false })
    // The form's POST ends in a redirect to the object store, which form-action must allow.
    // Asked here, not when the routes are built: starting must not depend on the store.
    return reply.code(status).headers(pageHeaders(await formTargets(request, true))).send(downloadPage({
      filename: link.filename,
      size: link.size,
      expiresAt: link.expiresAt,
      downloadsLeft: link.maxDownloads === null ? null : link.maxDownloads - link.downloads,
      needsPassword: link.passwordHash !== null,
      nonce: formNonce(formSecret, formScope(request, link)),
      error,
      account: account(request)
    }))
  }

  // Declared before the GET, so that Fastify does not derive a HEAD from it (which would redeem).
  // The budgets are spent after validation, so that a malformed token costs no I/O at all;
  // the GET spends them in its redemption.
  fastify.head('/s/:token', {
    preHandler: guard.admit,
    schema: { summary: 'Whether a share link is live; consumes nothing', params: TokenParamsSchema, querystring: IgnoredQuerySchema, response: { 200: Type.Null(), ...redeemErrors } }
  }, async (request, reply) => {
    const link = await linkStore.peek(hashToken(request.params.token))
    const status = link === null ? 'not_found' : linkStatus(link, Date.now())
    // A probe of an unknown token is a miss like any other (not audited: HEAD spends nothing).
    if (!isMiss(status)) await guard.notAMiss(request)
    if (status !== 'active') throw linkGone()
    return await reply.code(200).send(null)
  })

  fastify.get('/s/:token', {
    schema: {
      summary: 'Redeem a share link: 302 to a presigned download URL (browsers get a page for limited or password links)',
      params: TokenParamsSchema,
      querystring: IgnoredQuerySchema,
      // 256 characters of up to 4 bytes, as Node reads them (latin1: a character a byte).
      headers: Type.Object({ 'x-link-password': Type.Optional(Type.String({ maxLength: 1024 })) }),
      response: { 200: { description: 'The download page (browsers, limited or password links)', content: { 'text/html': { schema: Type.String() } } }, 302: Type.Null(), ...redeemErrors }
    }
  }, async (request, reply) => {
    const tokenHash = hashToken(request.params.token)
    // A preview bot that does not ask for HTML is treated as a browser (a GET spends no
    // limited link), and gets a page that says nothing about the file: chats show it to
    // whoever sees the message.
    const html = prefersHtml(request.headers.accept)
    const interactive = html || isPreviewBot(request.headers['user-agent'], request.headers.accept)
    let result = await linkStore.redeem(tokenHash, { interactive, checked: false, ...guard.spent(request) })
    if (!result.ok && result.reason === 'guarded') {
      const { link } = result
      const answered = await checkAccess(link, request, reply)
      if (answered !== null) return answered
      // A browser that had to sign in lands on the link's page, which says who it is.
      if (html && link.access !== 'public') return page(request, reply, link)
      if (interactive && (link.maxDownloads !== null || link.passwordHash !== null)) {
        return html ? page(request, reply, link) : await reply.code(200).headers(pageHeaders()).send(previewPage())
      }
      const password = request.headers['x-link-password']
      await checkPassword(request, link, password === undefined ? undefined : headerText(password))
      result = await linkStore.redeem(tokenHash, { interactive, checked: true })
    }
    if (!result.ok) throw auditFailure(request, result)
    return await redirect(request, reply, result.link, 302)
  })

  fastify.post('/s/:token', {
    preHandler: guard.admit,
    schema: {
      summary: 'Spend a download from the download page\'s form: 303 to a presigned download URL',
      params: TokenParamsSchema,
      querystring: IgnoredQuerySchema,
      consumes: ['application/x-www-form-urlencoded'],
      body: FormSchema,
      response: { 200: { description: 'The download page again, with the error (wrong password)', content: { 'text/html': { schema: Type.String() } } }, 303: Type.Null(), ...redeemErrors }
    }
  }, async (request, reply) => {
    const tokenHash = hashToken(request.params.token)
    const link = await linkStore.peek(tokenHash)
    if (link === null) throw auditDenial(request, 'not_found', null, linkGone())
    const status = linkStatus(link, Date.now())
    // A forged or expired form is a guess too: its reserved miss is kept.
    // The nonce is bound to the browser's session: whose it is must be known first.
    await fastify.identify(request, { bearer: false })
    const nonce = checkFormNonce(formSecret, formScope(request, link), request.body.nonce)
    if (!isMiss(status) && nonce === 'ok') await guard.notAMiss(request)
    if (status !== 'active') throw auditDenial(request, status, link, linkGone())
    if (nonce !== 'ok') {
      throw auditDenial(request, 'bad_form', link,
        new HttpError(403, 'LG_FORM_EXPIRED', nonce === 'expired' ? 'This page has expired: open the link again' : 'This form did not come from this link\'s page'))
    }
    const answered = await checkAccess(link, request, reply)
    if (answered !== null) return answered
    try {
      await checkPassword(request, link, request.body.password)
    } catch (err) {
      // A person at the page sees it again, with what went wrong.
      if (err instanceof HttpError && prefersHtml(request.headers.accept)) return page(request, reply, link, err.statusCode, err.message)
      throw err
    }
    const result = await linkStore.redeem(tokenHash, { interactive: true, checked: true })
    if (!result.ok) throw auditFailure(request, result)
    return await redirect(request, reply, result.link, 303)
  })
}

export default redeemRoutes
