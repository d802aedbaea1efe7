// File requests (upload links): make one, list, read and revoke the caller's. Whoever holds a
// request's link uploads into the caller's files through /r/:token (request-upload.ts).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { RequestOptionsSchema } from '../domain/request-policy.js'
import { notFound } from '../errors.js'
import { createFileRequest, ownRequest, requestUsageKey, requestView, type Received } from '../file-requests.js'
import { ownerOf } from '../identity.js'
import { IdParamsSchema, NewRequestSchema, PageQuerySchema, PageSchema, RequestSchema, errorResponses } from '../schemas.js'
import type { RequestRecord } from '../stores/request-store.js'

const requestsRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  const { requestStore, usageStore, config } = fastify
  const deps = { requestStore, publicUrl: config.publicUrl, maxTtl: config.linkMaxTtl }
  const received = async (request: RequestRecord): Promise<Received> => await usageStore.get(requestUsageKey(request.id))

  // Anyone with the link may then add files to the caller's: files:write, as uploading does.
  fastify.post('/requests', {
    config: { scope: 'files:write' },
    schema: {
      summary: 'Make a file request: a link through which anyone who holds it can upload files into yours, within its caps',
      body: RequestOptionsSchema,
      response: { 201: NewRequestSchema, ...errorResponses }
    }
  }, async (request, reply) => {
    const { record, view } = await createFileRequest(deps, ownerOf(request), request.body)
    fastify.audit(request, 'request.created', { fileRequestId: record.id })
    reply.header('cache-control', 'no-store')
    return await reply.code(201).send(view)
  })

  fastify.get('/requests', {
    config: { scope: 'files:read' },
    schema: {
      summary: "List the caller's file requests (never their tokens), newest first",
      querystring: PageQuerySchema,
      response: { 200: PageSchema(RequestSchema), ...errorResponses }
    }
  }, async (request) => {
    const page = await requestStore.listRequests(ownerOf(request), { limit: request.query.limit, after: request.query.cursor })
    const now = Date.now()
    return { items: await Promise.all(page.items.map(async (r) => requestView(r, await received(r), now))), next: page.next }
  })

  fastify.get('/requests/:id', {
    config: { scope: 'files:read' },
    schema: { summary: 'A file request, with what it has received', params: IdParamsSchema, response: { 200: RequestSchema, ...errorResponses } }
  }, async (request) => {
    const found = await ownRequest(requestStore, request.params.id, ownerOf(request))
    return requestView(found, await received(found))
  })

  fastify.delete('/requests/:id', {
    config: { scope: 'files:write' },
    schema: {
      summary: 'Revoke a file request: its link takes nothing more, and an upload in progress is refused at its end (the files received stay yours)',
      params: IdParamsSchema,
      response: { 204: Type.Null(), ...errorResponses }
    }
  }, async (request, reply) => {
    await ownRequest(requestStore, request.params.id, ownerOf(request))
    if (!await requestStore.revokeRequest(request.params.id, Date.now())) throw notFound('Request')
    fastify.audit(request, 'request.revoked', { fileRequestId: request.params.id })
    return await reply.code(204).send(null)
  })
}

export default requestsRoutes
