// Share links: mint one for a file, list, read and revoke the caller's links.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { notFound } from '../errors.js'
import { ownerOf } from '../identity.js'
import { createShareLink, linkView, ownFile, ownLink, shareDeps } from '../share.js'
import { AuditEventSchema, IdParamsSchema, LinkOptionsSchema, LinkSchema, NewLinkSchema, PageQuerySchema, PageSchema, errorResponses } from '../schemas.js'

const linksRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  const { linkStore } = fastify
  const share = shareDeps(fastify.config, linkStore)

  fastify.post('/files/:id/links', {
    config: { scope: 'links:write' },
    schema: {
      summary: 'Mint a share link for a file',
      params: IdParamsSchema,
      body: Type.Union([LinkOptionsSchema, Type.Null()]),
      response: { 201: NewLinkSchema, ...errorResponses }
    }
  }, async (request, reply) => {
    const file = await ownFile(linkStore, request.params.id, ownerOf(request))
    const link = await createShareLink(share, file, request.body ?? {})
    fastify.audit(request, 'link.created', {}, link.record)
    reply.header('cache-control', 'no-store')
    return await reply.code(201).send(link.view)
  })

  fastify.get('/links', {
    config: { scope: 'links:read' },
    schema: {
      summary: "List the caller's links (never their tokens), newest first",
      querystring: PageQuerySchema,
      response: { 200: PageSchema(LinkSchema), ...errorResponses }
    }
  }, async (request) => {
    const page = await linkStore.listLinks(ownerOf(request), { limit: request.query.limit, after: request.query.cursor })
    const now = Date.now()
    return { items: page.items.map((l) => linkView(l, now)), next: page.next }
  })

  fastify.get('/links/:id', {
    config: { scope: 'links:read' },
    schema: { summary: 'A link', params: IdParamsSchema, response: { 200: LinkSchema, ...errorResponses } }
  }, async (request) => linkView(await ownLink(linkStore, request.params.id, ownerOf(request))))

  fastify.get('/links/:id/events', {
    config: { scope: 'links:read' },
    schema: {
      summary: "A link's history: when, from which address and client it was redeemed or denied (newest first)",
      params: IdParamsSchema,
      querystring: Type.Object({ limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }) }, { additionalProperties: false }),
      response: { 200: Type.Object({ items: Type.Array(AuditEventSchema) }), ...errorResponses }
    }
  }, async (request) => {
    await ownLink(linkStore, request.params.id, ownerOf(request))
    await fastify.flushAudit()
    return { items: await fastify.linkHistory.listEvents(request.params.id, request.query.limit) }
  })

  fastify.delete('/links/:id', {
    config: { scope: 'links:write' },
    schema: { summary: 'Revoke a link', params: IdParamsSchema, response: { 204: Type.Null(), ...errorResponses } }
  }, async (request, reply) => {
    const link = await ownLink(linkStore, request.params.id, ownerOf(request))
    if (!await linkStore.revokeLink(request.params.id, Date.now())) throw notFound('Link')
    fastify.audit(request, 'link.revoked', {}, link)
    return await reply.code(204).send(null)
  })
}

export default linksRoutes
