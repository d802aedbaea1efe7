// POST /v1/files: a streaming upload, multipart (one part named "file") or a raw body of
// any other type. Bytes flow socket → meter (size limit, sha256) → ObjectStore; a file
// record (and a link, with ?share=true) is written only once the object is complete.
import multipart from '@fastify/multipart'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import type { FastifyRequest } from 'fastify'
import { finished, Readable } from 'node:stream'
import { normaliseContentType } from '../domain/content-type.js'
import { cleanFilename, decodeMultipartFilename } from '../domain/filename.js'
import { newId } from '../domain/ids.js'
import { checkTtl } from '../domain/link-policy.js'
import { UploadMeter } from '../domain/upload-meter.js'
import { HttpError, badRequest, tooLarge } from '../errors.js'
import { ownerOf, requireScope } from '../identity.js'
import { createShareLink, fileView, shareDeps } from '../share.js'
import { NewFileSchema, ProblemResponse, errorResponses } from '../schemas.js'
import { objectKey, orphanKey } from '../stores/object-store.js'
import type { FileRecord } from '../stores/link-store.js'

const UploadQuerySchema = Type.Object({
  filename: Type.Optional(Type.String({ maxLength: 1024, description: 'File name for a raw (non-multipart) upload' })),
  share: Type.Boolean({ default: false, description: 'Also mint a share link' }),
  retention: Type.Optional(Type.Integer({ minimum: 1, maximum: 315_360_000, description: 'Seconds after which the file is deleted, with its links (at most FILE_MAX_RETENTION)' })),
  ttl: Type.Optional(Type.Integer({ minimum: 1, description: 'With share=true: seconds until the link expires' })),
  maxDownloads: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000, description: 'With share=true: redirects the link grants' }))
}, { additionalProperties: false })

interface Incoming { source: Readable, filename: string, contentType: string }

/** An upload's hold on one of its owner's UPLOAD_CONCURRENCY slots lapses this long after its instance stopped renewing it. */
const SLOT_LEASE_MS = 60_000
interface Stored { filename: string, contentType: string, size: number, sha256: string }

const uploadRoute: FastifyPluginAsyncTypebox = async (fastify) => {
  const { maxUploadBytes, linkDefaultTtl, linkMaxTtl, fileMaxRetention, limits } = fastify.config
  const { linkStore, budgetStore, objectStore } = fastify

  // Every body but multipart is the file itself, streamed: no parser may buffer it.
  fastify.removeAllContentTypeParsers()
  fastify.addContentTypeParser('*', (_request, _payload, done) => { done(null) })
  await fastify.register(multipart, {
    throwFileSizeLimit: true,
    // One byte over the limit, so that the meter (not busboy's silent truncation) stops it.
    limits: { fileSize: maxUploadBytes + 1, files: 1, fields: 20, fieldSize: 64 * 1024, parts: 30, headerPairs: 100 }
  })

  // Graceful shutdown: uploads in flight get SHUTDOWN_GRACE seconds to finish (the server
  // waits for them), then are aborted, which leaves nothing, like any failed upload.
  const inflight = new Set<AbortController>()
  let abortTimer: NodeJS.Timeout | undefined
  fastify.addHook('preClose', async () => {
    abortTimer = setTimeout(() => {
      for (const upload of inflight) upload.abort(new HttpError(503, 'LG_SHUTTING_DOWN', 'The gateway is shutting down: upload again'))
    }, fastify.config.shutdownGrace * 1000)
  })
  fastify.addHook('onClose', async () => { clearTimeout(abortTimer) })

  /** Streams one file to the store; on any failure nothing of it remains. */
  async function store (request: FastifyRequest, key: string, incoming: Incoming, meter: UploadMeter): Promise<Stored> {
    // The store may attach its listeners only after an await; until then an error must
    // not go unheard (it would crash the process). put() still sees it and rejects.
    meter.on('error', () => {})
    // finished() also reports an error the source hit before we got here (busboy can fail
    // a part before the handler sees it); pipeline() would do that too, but would destroy
    // the request on a storage failure, and the client would get a reset, not a 503.
    finished(incoming.source, { writable: false }, (err) => { if (err !== undefined && err !== null) meter.destroy(err) })
    incoming.source.pipe(meter)
    // The client going away mid-body cancels the write.
    const cancel = new AbortController()
    const onClose = (): void => { if (!request.raw.complete) cancel.abort(badRequest('LG_UPLOAD_ABORTED', 'The client closed the connection mid-upload')) }
    request.raw.once('close', onClose)
    inflight.add(cancel)
    try {
      await objectStore.put(key, meter, { contentType: incoming.contentType, filename: incoming.filename, signal: cancel.signal })
    } finally {
      request.raw.off('close', onClose)
      inflight.delete(cancel)
    }
    return { filename: incoming.filename, contentType: incoming.contentType, size: meter.bytes, sha256: meter.sha256() }
  }

  /**
   * What went wrong, as the client's mistake where it was one: @fastify/multipart's own
   * errors by class, the client leaving by Node's codes, and busboy's parse errors (plain
   * Errors, which carry no code) as a malformed body. Storage failures are HttpErrors already.
   */
  function uploadError (err: unknown, request: FastifyRequest): unknown {
    if (err instanceof HttpError) return err
    const { RequestFileTooLargeError, FilesLimitError, PartsLimitError, FieldsLimitError, PrototypeViolationError, PrematureCloseError } = fastify.multipartErrors
    if (err instanceof RequestFileTooLargeError) return tooLarge(maxUploadBytes)
    if (err instanceof FilesLimitError) return badRequest('LG_BAD_MULTIPART', 'Send exactly one file part, named "file"')
    const message = err instanceof Error ? err.message : ''
    if (err instanceof PartsLimitError || err instanceof FieldsLimitError || err instanceof PrototypeViolationError || err instanceof PrematureCloseError) {
      return badRequest('LG_BAD_MULTIPART', `Malformed multipart body: ${message}`)
    }
    if ((err as { code?: string }).code === 'ECONNRESET' || message === 'aborted') return badRequest('LG_UPLOAD_ABORTED', 'The client closed the connection mid-upload')
    if (request.isMultipart() && err instanceof Error && Object.getPrototypeOf(err) === Error.prototype) {
      return badRequest('LG_BAD_MULTIPART', `Malformed multipart body: ${message}`)
    }
    return err
  }

  /**
   * Runs `work` holding one of the owner's UPLOAD_CONCURRENCY slots (across instances),
   * renewed while it runs: a user's uploads in progress are bounded, paused ones included.
   * All taken: a 429 before a byte of the body is read.
   */
  async function withUploadSlot<T> (request: FastifyRequest, owner: string, id: string, work: () => Promise<T>): Promise<T> {
    const slot = { key: `slots:uploads:${owner}`, id, max: limits.uploadConcurrency, leaseMs: SLOT_LEASE_MS }
    if (!await budgetStore.acquireSlot(slot)) {
      throw new HttpError(429, 'LG_TOO_MANY_UPLOADS', `At most ${limits.uploadConcurrency} uploads at once: wait for one to finish (UPLOAD_CONCURRENCY)`, { connection: 'close' })
    }
    const renew = setInterval(() => {
      budgetStore.acquireSlot(slot).catch((err: Error) => { request.log.warn({ err: { message: err.message } }, 'upload slot not renewed') })
    }, SLOT_LEASE_MS / 3).unref()
    try {
      return await work()
    } finally {
      clearInterval(renew)
      await budgetStore.releaseSlot(slot.key, id)
        .catch((err: Error) => { request.log.warn({ err: { message: err.message } }, 'upload slot not released: it lapses with its lease') })
    }
  }

  fastify.post('/files', {
    config: { scope: 'files:write', rateLimit: fastify.rateLimits.upload, streamsBody: true },
    schema: {
      summary: 'Upload a file (multipart part "file", or the raw body)',
      querystring: UploadQuerySchema,
      response: { 201: NewFileSchema, ...errorResponses, 413: ProblemResponse, 502: ProblemResponse }
    }
  }, async function upload (request, reply) {
    const owner = ownerOf(request)
    // A link too: the credential must be allowed to make one.
    if (request.query.share) requireScope(request, 'links:write')
    const id = newId()
    return await withUploadSlot(request, owner, id, async () => {
      const { query } = request
      const key = objectKey(id)
      const meter = new UploadMeter(maxUploadBytes)
      let stored: Stored | null = null
      try {
      // Options are checked before a byte is read: a refusal must not cost an upload.
        if (query.share) checkTtl(query.ttl, { defaultTtl: linkDefaultTtl, maxTtl: linkMaxTtl })
        else if (query.ttl !== undefined || query.maxDownloads !== undefined) {
          throw badRequest('LG_BAD_REQUEST', 'ttl and maxDownloads are options of the link: add share=true (or mint one with POST /v1/files/:id/links)')
        }
        if (query.retention !== undefined && fileMaxRetention !== null && query.retention > fileMaxRetention) {
          throw badRequest('LG_RETENTION_TOO_LONG', `retention must be at most ${fileMaxRetention} seconds (FILE_MAX_RETENTION)`)
        }
        if (request.isMultipart()) {
        // Known upstream issue: @fastify/multipart 10.1 stalls for good on a part it skips
        // (a disposition other than form-data) of more than 16 KiB; IDLE_TIMEOUT reclaims
        // such a connection.
          for await (const part of request.parts()) {
            if (part.type !== 'file') continue
            if (part.fieldname !== 'file' || stored !== null) {
              throw badRequest('LG_BAD_MULTIPART', 'Send exactly one file part, named "file"')
            }
            stored = await store(request, key, {
              source: part.file,
              filename: cleanFilename(decodeMultipartFilename(part.filename ?? '')),
              contentType: normaliseContentType(part.mimetype)
            }, meter)
          }
          if (stored === null) throw badRequest('LG_NO_FILE', 'The multipart body has no file part named "file"')
        } else {
          stored = await store(request, key, {
            source: request.raw,
            filename: cleanFilename(query.filename),
            contentType: normaliseContentType(request.headers['content-type'])
          }, meter)
        }
      } catch (err) {
        if (stored !== null) await objectStore.delete(key).catch((e: unknown) => request.log.error({ err: e, key }, 'orphan object left after a failed upload'))
        // The rest of a rejected body is not worth reading.
        reply.header('connection', 'close')
        const error = uploadError(err, request)
        fastify.audit(request, 'file.upload_failed', { fileId: id, bytes: meter.bytes, reason: (error as { code?: string }).code ?? 'error' })
        throw error
      }

      const createdAt = Date.now()
      // With FILE_MAX_RETENTION set, every file has a retention (the longest by default), so
      // a bucket lifecycle rule can back the sweeper up without deleting a kept file's bytes.
      const retention = query.retention ?? fileMaxRetention
      const file: FileRecord = { id, owner, key, ...stored, createdAt, expiresAt: retention === null ? null : createdAt + retention * 1000 }
      try {
        await linkStore.putFile(file)
        const link = query.share ? await createShareLink(shareDeps(fastify.config, linkStore), file, query) : undefined
        fastify.audit(request, 'file.uploaded', { fileId: id, bytes: file.size })
        if (link !== undefined) fastify.audit(request, 'link.created', {}, link.record)
        // With share=true, the answer holds the link's token.
        return await reply.code(201).header('cache-control', 'no-store').send({ ...fileView(file), link: link?.view })
      } catch (err) {
        // All or nothing: a failed record or link takes the object with it, but only once the
        // record is surely gone. With the link store down it may have landed or not: a marker
        // in the object store hands both to the sweeper, which cleans up once it is back.
        const recordGone = await linkStore.deleteFile(id).then(() => true, () => false)
        if (recordGone) {
          await objectStore.delete(key).catch((e: unknown) => request.log.error({ err: e, key }, 'orphan object left after a failed upload'))
        } else {
          await objectStore.put(orphanKey(id), Readable.from([]), { contentType: 'application/octet-stream', filename: id }).then(
            () => request.log.warn({ fileId: id }, 'upload failed with the link store down: its object is queued for the sweeper'),
            (e: Error) => request.log.error({ err: { message: e.message }, fileId: id }, 'upload failed and could not be cleaned up: object left (the bucket lifecycle rule is the backstop)'))
        }
        fastify.audit(request, 'file.upload_failed', { fileId: id, bytes: file.size, reason: (err as { code?: string }).code ?? 'error' })
        throw err
      }
    })
  })
}

export default uploadRoute
