// Personal API tokens: a signed-in user (a JWT or a browser session, never another personal
// token) makes, lists and revokes tokens for scripts and tools. A token is shown once, at
// creation; the store keeps its hash.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type, type Static } from 'typebox'
import { newId } from '../domain/ids.js'
import { hashToken, newPersonalToken } from '../domain/tokens.js'
import { HttpError, notFound } from '../errors.js'
import { ScopeSchema } from '../domain/scopes.js'
import { ownerOf } from '../identity.js'
import { IdParamsSchema, errorResponses } from '../schemas.js'
import { MAX_TOKENS_PER_USER, type PersonalToken } from '../stores/token-store.js'

const DAY = 86_400
const MAX_TTL = 365 * DAY

export const TokenSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  scopes: Type.Array(ScopeSchema),
  createdAt: Type.String({ format: 'date-time' }),
  expiresAt: Type.String({ format: 'date-time' })
})
export type TokenView = Static<typeof TokenSchema>

const NewTokenSchema = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 100, pattern: '^[^\\x00-\\x1f\\x7f]*$', description: 'What the token is for, e.g. "backup script"' }),
  scopes: Type.Array(ScopeSchema, { minItems: 1, maxItems: ScopeSchema.anyOf.length, uniqueItems: true, description: 'What the token may do' }),
  ttl: Type.Integer({ minimum: 60, maximum: MAX_TTL, default: 90 * DAY, description: 'Seconds until the token expires (at most a year)' })
}, { additionalProperties: false })

function tokenView (token: PersonalToken): TokenView {
  return {
    id: token.id,
    name: token.name,
    scopes: token.scopes,
    createdAt: new Date(token.createdAt).toISOString(),
    expiresAt: new Date(token.expiresAt).toISOString()
  }
}

const tokensRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  const { tokenStore } = fastify
  // Only the person, never one of their tokens, manages tokens.
  const config = { scope: 'account' as const }

  fastify.post('/tokens', {
    config,
    schema: {
      summary: 'Make a personal API token; its secret is in this answer only',
      body: NewTokenSchema,
      response: { 201: Type.Intersect([TokenSchema, Type.Object({ token: Type.String({ description: 'The secret: use it as Authorization: Bearer <token>. Shown once.' }) })]), ...errorResponses }
    }
  }, async (request, reply) => {
    const owner = ownerOf(request)
    const secret = newPersonalToken()
    const now = Date.now()
    const token: PersonalToken = { id: newId(now), owner, name: request.body.name, scopes: request.body.scopes, createdAt: now, expiresAt: now + request.body.ttl * 1000 }
    if (!await tokenStore.createToken(hashToken(secret), token)) {
      throw new HttpError(409, 'LG_TOO_MANY_TOKENS', `You already have ${MAX_TOKENS_PER_USER} tokens: revoke one first`)
    }
    fastify.audit(request, 'token.created', {})
    reply.header('cache-control', 'no-store')
    return await reply.code(201).send({ ...tokenView(token), token: secret })
  })

  fastify.get('/tokens', {
    config,
    schema: { summary: "The caller's live personal tokens (never their secrets), newest first", response: { 200: Type.Object({ items: Type.Array(TokenSchema) }), ...errorResponses } }
  }, async (request) => ({ items: (await tokenStore.listTokens(ownerOf(request))).map(tokenView) }))

  fastify.delete('/tokens/:id', {
    config,
    schema: { summary: 'Revoke a personal token: it stops working at once, on every instance', params: IdParamsSchema, response: { 204: Type.Null(), ...errorResponses } }
  }, async (request, reply) => {
    if (!await tokenStore.revokeToken(ownerOf(request), request.params.id)) throw notFound('Token')
    fastify.audit(request, 'token.revoked', {})
    return await reply.code(204).send(null)
  })
}

export default tokensRoutes
