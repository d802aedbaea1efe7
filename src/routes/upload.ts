// POST /v1/files: a streaming upload, multipart (one part named "file") or a raw body of
// any other type. Bytes flow socket → meter (size limit, quota, sha256) → ObjectStore; a file
// record (and a link, with ?share=true) is written only once the object is complete. The
// pipeline is src/intake.ts, shared with the other ways files come in.
import multipart from '@fastify/multipart'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { normaliseContentType } from '../domain/content-type.js'
import { cleanFilename, decodeMultipartFilename } from '../domain/filename.js'
import { newId } from '../domain/ids.js'
import { checkTtl } from '../domain/link-policy.js'
import { UploadMeter } from '../domain/upload-meter.js'
import { badRequest } from '../errors.js'
import { ownerOf, requireScope } from '../identity.js'
import { QuotaHold, declaredLength, dropObject, recordFile, storeUpload, uploadFailed, withUploadSlot, type Stored } from '../intake.js'
import { NewFileSchema, ProblemResponse, errorResponses } from '../schemas.js'
import { objectKey } from '../stores/object-store.js'

const UploadQuerySchema = Type.Object({
  filename: Type.Optional(Type.String({ maxLength: 1024, description: 'File name for a raw (non-multipart) upload' })),
  share: Type.Boolean({ default: false, description: 'Also mint a share link' }),
  retention: Type.Optional(Type.Integer({ minimum: 1, maximum: 315_360_000, description: 'Seconds after which the file is deleted, with its links (at most FILE_MAX_RETENTION)' })),
  ttl: Type.Optional(Type.Integer({ minimum: 1, description: 'With share=true: seconds until the link expires' })),
  maxDownloads: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000, description: 'With share=true: redirects the link grants' }))
}, { additionalProperties: false })

const uploadRoute: FastifyPluginAsyncTypebox = async (fastify) => {
  const { maxUploadBytes, linkDefaultTtl, linkMaxTtl, fileMaxRetention } = fastify.config

  // Every body but multipart is the file itself, streamed: no parser may buffer it.
  fastify.removeAllContentTypeParsers()
  fastify.addContentTypeParser('*', (_request, _payload, done) => { done(null) })
  await fastify.register(multipart, {
    throwFileSizeLimit: true,
    // One byte over the limit, so that the meter (not busboy's silent truncation) stops it.
    limits: { fileSize: maxUploadBytes + 1, files: 1, fields: 20, fieldSize: 64 * 1024, parts: 30, headerPairs: 100 }
  })

  fastify.post('/files', {
    config: { scope: 'files:write', rateLimit: fastify.rateLimits.upload, streamsBody: true },
    schema: {
      summary: 'Upload a file (multipart part "file", or the raw body)',
      querystring: UploadQuerySchema,
      response: { 201: NewFileSchema, ...errorResponses, 403: ProblemResponse, 413: ProblemResponse, 502: ProblemResponse }
    }
  }, async function upload (request, reply) {
    const owner = ownerOf(request)
    // A link too: the credential must be allowed to make one.
    if (request.query.share) requireScope(request, 'links:write')
    const id = newId()
    return await withUploadSlot(request, owner, id, async () => {
      const { query } = request
      const key = objectKey(id)
      const quota = new QuotaHold(request, owner)
      const meter = new UploadMeter(maxUploadBytes, quota.admit)
      let stored: Stored | null = null
      try {
      // Options and quota are checked before a byte is read: a refusal must not cost an upload.
        if (query.share) checkTtl(query.ttl, { defaultTtl: linkDefaultTtl, maxTtl: linkMaxTtl })
        else if (query.ttl !== undefined || query.maxDownloads !== undefined) {
          throw badRequest('LG_BAD_REQUEST', 'ttl and maxDownloads are options of the link: add share=true (or mint one with POST /v1/files/:id/links)')
        }
        if (query.retention !== undefined && fileMaxRetention !== null && query.retention > fileMaxRetention) {
          throw badRequest('LG_RETENTION_TOO_LONG', `retention must be at most ${fileMaxRetention} seconds (FILE_MAX_RETENTION)`)
        }
        await quota.take(declaredLength(request))
        if (request.isMultipart()) {
        // Known upstream issue: @fastify/multipart 10.1 stalls for good on a part it skips
        // (a disposition other than form-data) of more than 16 KiB; IDLE_TIMEOUT reclaims
        // such a connection.
          for await (const part of request.parts()) {
            if (part.type !== 'file') continue
            if (part.fieldname !== 'file' || stored !== null) {
              throw badRequest('LG_BAD_MULTIPART', 'Send exactly one file part, named "file"')
            }
            stored = await storeUpload(request, key, {
              source: part.file,
              filename: cleanFilename(decodeMultipartFilename(part.filename ?? '')),
              contentType: normaliseContentType(part.mimetype)
            }, meter)
          }
          if (stored === null) throw badRequest('LG_NO_FILE', 'The multipart body has no file part named "file"')
        } else {
          stored = await storeUpload(request, key, {
            source: request.raw,
            filename: cleanFilename(query.filename),
            contentType: normaliseContentType(request.headers['content-type'])
          }, meter)
        }
      } catch (err) {
        await quota.release()
        if (stored !== null) await dropObject(request, key)
        // The rest of a rejected body is not worth reading.
        reply.header('connection', 'close')
        throw uploadFailed(request, err, id, meter.bytes)
      }
      const { view } = await recordFile(request, { id, owner, key, stored, retention: query.retention, link: query.share ? query : undefined, quota })
      // With share=true, the answer holds the link's token.
      return await reply.code(201).header('cache-control', 'no-store').send(view)
    })
  })
}

export default uploadRoute
