// The caller's files: list, read, delete, and a short-lived download URL for the owner.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { ownerOf } from '../identity.js'
import { fileView, ownFile } from '../share.js'
import { FileSchema, IdParamsSchema, PageQuerySchema, PageSchema, errorResponses } from '../schemas.js'

const filesRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  const { linkStore, objectStore } = fastify
  const { signedUrlTtl } = fastify.config

  fastify.get('/files', {
    config: { scope: 'files:read' },
    schema: {
      summary: "List the caller's files, newest first",
      querystring: PageQuerySchema,
      response: { 200: PageSchema(FileSchema), ...errorResponses }
    }
  }, async (request) => {
    const page = await linkStore.listFiles(ownerOf(request), { limit: request.query.limit, after: request.query.cursor })
    return { items: page.items.map(fileView), next: page.next }
  })

  fastify.get('/files/:id', {
    config: { scope: 'files:read' },
    schema: { summary: 'A file', params: IdParamsSchema, response: { 200: FileSchema, ...errorResponses } }
  }, async (request) => fileView(await ownFile(linkStore, request.params.id, ownerOf(request))))

  fastify.delete('/files/:id', {
    config: { scope: 'files:write' },
    schema: { summary: 'Delete a file, its bytes and every link to it', params: IdParamsSchema, response: { 204: Type.Null(), ...errorResponses } }
  }, async (request, reply) => {
    await ownFile(linkStore, request.params.id, ownerOf(request))
    // Record and links first: a link must never point at a missing object.
    const file = await linkStore.deleteFile(request.params.id)
    if (file !== null) {
      // The file is gone for everyone now; bytes left behind are the bucket rule's to expire.
      await objectStore.delete(file.key).catch((err: Error) => {
        request.log.error({ err: { message: err.message }, fileId: file.id }, 'delete: object left behind')
      })
      fastify.audit(request, 'file.deleted', { fileId: file.id, bytes: file.size })
    }
    return await reply.code(204).send(null)
  })

  fastify.get('/files/:id/url', {
    config: { scope: 'files:read' },
    schema: {
      summary: 'A fresh presigned download URL for the owner',
      params: IdParamsSchema,
      response: { 200: Type.Object({ url: Type.String(), expiresAt: Type.String({ format: 'date-time' }) }), ...errorResponses }
    }
  }, async (request, reply) => {
    const file = await ownFile(linkStore, request.params.id, ownerOf(request))
    const expiresAt = new Date(Date.now() + signedUrlTtl * 1000).toISOString()
    const url = await objectStore.signedUrl(file.key, { filename: file.filename, contentType: file.contentType, disposition: 'attachment', expiresIn: signedUrlTtl })
    reply.header('cache-control', 'no-store')
    return { url, expiresAt }
  })
}

export default filesRoutes
