// /v1/uploads: resumable uploads, tus 1.0 (core, creation, creation-with-upload,
// creation-defer-length, termination, expiration), spoken by @tus/server inside the /v1
// scope: authenticated, scope files:write, the caller's upload budget (creation) or API
// budget (the rest), an UPLOAD_CONCURRENCY slot while bytes flow, MAX_UPLOAD_BYTES, and the
// owner's quota (reserved at creation, for its whole length when that is known). An upload
// is its creator's alone (its owner is set here, at creation): for anyone else it does not
// exist. Once the last byte is in, the same file record as POST /v1/files is written (and its
// link): see finish().
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Server, EVENTS } from '@tus/server'
import { ERRORS, type Upload } from '@tus/utils'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { createHash } from 'node:crypto'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { NodeRequest } from 'srvx/node'
import { Type } from 'typebox'
import { ID_PATTERN, newId } from '../domain/ids.js'
import { checkTtl } from '../domain/link-policy.js'
import { uploadOptions, type UploadOptions } from '../domain/upload-metadata.js'
import { HttpError, badRequest } from '../errors.js'
import { ownerOf, requireScope } from '../identity.js'
import { QuotaHold, recordFile, releaseQuota, reserveQuota, withUploadSlot } from '../intake.js'
import { ProblemResponse, errorResponses } from '../schemas.js'
import { storeError } from '../stores/s3-object-store.js'
import { OWNER, QUOTA_BYTES, QUOTA_FILES, fileIdOf, reservedBy, uploadIdOf } from '../stores/upload-store.js'
import type { Usage } from '../stores/usage-store.js'

/** Response headers of a finished upload, which a tus client reads from its last response. */
export const FILE_ID_HEADER = 'Linkgate-File-Id'
export const LINK_ID_HEADER = 'Linkgate-Link-Id'
export const LINK_URL_HEADER = 'Linkgate-Link-Url'

const TUS_RESUMABLE = '1.0.0'
const EMPTY_SHA256 = createHash('sha256').digest('hex')

const UploadParamsSchema = Type.Object({ id: Type.String({ pattern: ID_PATTERN, description: 'The upload, named by the id its file will have' }) })
/** tus headers are the protocol's to check (its 4xx); only their size is bounded here. */
const TusHeadersSchema = Type.Object({
  'tus-resumable': Type.Optional(Type.String({ maxLength: 16, description: 'Must be 1.0.0 (all but OPTIONS)' })),
  'upload-length': Type.Optional(Type.String({ maxLength: 20, description: 'The upload\'s size in bytes (creation)' })),
  'upload-defer-length': Type.Optional(Type.String({ maxLength: 1, description: '1: the size comes with a later PATCH' })),
  'upload-offset': Type.Optional(Type.String({ maxLength: 20, description: 'Where this PATCH\'s bytes go' })),
  'upload-metadata': Type.Optional(Type.String({ maxLength: 8192, description: 'filename, filetype, share, ttl, maxDownloads, retention: base64 values, comma-separated' }))
}, { additionalProperties: true })
const NoQuerySchema = Type.Object({}, { additionalProperties: false })
/** tus's own protocol errors are text; the gateway's (authentication, scope, metadata, limits) are problems. */
const tusText = (description: string): object => ({ description, content: { 'text/plain': { schema: Type.String() } } })
const tusOrProblem = (description: string): object => ({ description, content: { ...ProblemResponse.content, 'text/plain': { schema: Type.String() } } })
const TUS_ERRORS = {
  400: tusOrProblem('A bad tus request (text), or bad Upload-Metadata (problem, LG_BAD_METADATA)'),
  403: tusOrProblem('A PATCH without Upload-Offset or Content-Type (text), or a credential without the scope (problem)'),
  404: tusOrProblem('No such upload, or someone else\'s (text, the same answer)'),
  409: tusText('Upload-Offset is not where the upload is'),
  410: tusText('The upload has expired (UPLOAD_EXPIRY)'),
  412: tusText('Tus-Resumable is missing or not 1.0.0'),
  413: tusOrProblem('Over MAX_UPLOAD_BYTES (Tus-Max-Size)')
}
const tusResponses = <S extends keyof typeof TUS_ERRORS>(...statuses: S[]): object =>
  ({ ...errorResponses, 502: ProblemResponse, ...Object.fromEntries(statuses.map((status) => [status, TUS_ERRORS[status]])) })

const uploadsRoute: FastifyPluginAsyncTypebox = async (fastify) => {
  const { config, uploadStore, uploadLocker, linkStore, objectStore, usageStore } = fastify

  // PATCH bodies (and creation-with-upload's) are the file's bytes, streamed to the store by
  // tus: no parser may read them.
  fastify.removeAllContentTypeParsers()
  fastify.addContentTypeParser('*', (_request, _payload, done) => { done(null) })

  /**
   * What tus's hooks need of each request they see: the Fastify request, the new upload's id,
   * what its creation reserved of the quota (given back unless the upload is created), the
   * upload as it was created (its owner and quota), our own error.
   */
  interface Context { request: FastifyRequest, fileId?: string, reserved?: Usage, upload?: Upload, finished?: string, error?: HttpError }
  const contexts = new WeakMap<Request, Context>()
  function contextOf (req: Request): Context {
    const context = contexts.get(req)
    if (context === undefined) throw new Error('a tus request without its Fastify request')
    return context
  }

  const tus = new Server({
    path: '/v1/uploads',
    datastore: uploadStore,
    locker: uploadLocker,
    maxSize: config.maxUploadBytes,
    // A finished upload is a file: DELETE /v1/files/:id removes it.
    disableTerminationForFinishedUploads: true,
    // No CORS, as for the rest of the API; the headers of a finished upload for same-origin pages.
    allowedOrigins: () => false,
    exposedHeaders: [FILE_ID_HEADER, LINK_ID_HEADER, LINK_URL_HEADER],
    namingFunction: (req) => uploadIdOf(contextOf(req).fileId ?? newId()),
    getFileIdFromRequest: (_req, last) => {
      const fileId = last === undefined ? null : fileIdOf(uploadIdOf(last))
      return fileId === null ? undefined : uploadIdOf(fileId)
    },
    // Where the client resumes: PUBLIC_URL, never the Host header.
    generateUrl: (_req, { id }) => `${config.publicUrl}/v1/uploads/${fileIdOf(id) ?? ''}`,
    // Someone else's upload is not found, exactly like one that does not exist.
    onIncomingRequest: async (req, id) => {
      if (req.method === 'POST') return
      const context = contextOf(req)
      const upload = await uploadStore.infoOf(id)
      if (upload === null || upload.metadata?.[OWNER] !== ownerOf(context.request)) throw ERRORS.FILE_NOT_FOUND
      context.upload = upload
    },
    onUploadCreate: async (req, upload) => ({ metadata: await createMetadata(contextOf(req), upload) }),
    onUploadFinish: async (req, upload) => {
      const context = contextOf(req)
      // From here the finish holds the creation's reservation (commits or gives it back).
      context.reserved = undefined
      const headers = await finish(context.request, upload.id, upload)
      // Dropped once tus is done with it (a POST reads it again after this hook).
      context.finished = upload.id
      return { headers }
    },
    // The gateway's own refusals and failures answer as every /v1 route does (problem+json);
    // tus's protocol errors stay tus's.
    onResponseError: (req, err) => {
      const context = contexts.get(req)
      if (context === undefined || 'status_code' in err) return undefined
      context.error = err instanceof HttpError ? err : (err as { $metadata?: unknown }).$metadata !== undefined ? storeError(err) : undefined
      if (context.error === undefined) context.request.log.error({ err }, 'resumable upload failed')
      return undefined
    }
  })
  tus.on(EVENTS.POST_CREATE, (req: Request, upload: Upload) => {
    fastify.audit(contextOf(req).request, 'upload.created', { fileId: fileIdOf(upload.id), bytes: upload.size ?? null })
  })
  tus.on(EVENTS.POST_TERMINATE, (req: Request, _res: Response, id: string) => {
    fastify.audit(contextOf(req).request, 'upload.terminated', { fileId: fileIdOf(id) })
  })

  /**
   * The upload's metadata as kept: its options checked now, before a byte, its owner, and
   * what it reserves of the owner's quota: the file, and its length when it is declared (over
   * quota, a 403 or 413 now); a deferred length is counted when the upload completes.
   */
  async function createMetadata (context: Context, upload: Upload): Promise<Record<string, string>> {
    const { request } = context
    const options = uploadOptions(upload.metadata)
    if (options.share) {
      // A link too: the credential must be allowed to make one.
      requireScope(request, 'links:write')
      checkTtl(options.ttl, { defaultTtl: config.linkDefaultTtl, maxTtl: config.linkMaxTtl })
    } else if (options.ttl !== undefined || options.maxDownloads !== undefined) {
      throw badRequest('LG_BAD_METADATA', 'ttl and maxDownloads are options of the link: add share=true to Upload-Metadata')
    }
    if (options.retention !== undefined && config.fileMaxRetention !== null && options.retention > config.fileMaxRetention) {
      throw badRequest('LG_RETENTION_TOO_LONG', `retention must be at most ${config.fileMaxRetention} seconds (FILE_MAX_RETENTION)`)
    }
    const caps = config.quota
    const reserved = { bytes: caps.bytes === null ? 0 : upload.size ?? 0, files: caps.files === null ? 0 : 1 }
    if (reserved.bytes > 0 || reserved.files > 0) {
      await reserveQuota(request, ownerOf(request), reserved)
      context.reserved = reserved
    }
    const { filename, contentType, share, ttl, maxDownloads, retention } = options
    const kept: Record<string, string | number | undefined> = { filename, filetype: contentType, share: String(share), ttl, maxDownloads, retention }
    return {
      ...Object.fromEntries(Object.entries(kept).flatMap(([key, value]) => value === undefined ? [] : [[key, String(value)]])),
      [OWNER]: ownerOf(request),
      [QUOTA_BYTES]: String(reserved.bytes),
      [QUOTA_FILES]: String(reserved.files)
    }
  }

  /** The options an upload was created with, as createMetadata() kept them. */
  function keptOptions (upload: Upload): { owner: string, options: UploadOptions } {
    const { [OWNER]: owner, [QUOTA_BYTES]: _bytes, [QUOTA_FILES]: _files, ...options } = upload.metadata ?? {}
    return { owner: owner ?? '', options: uploadOptions(options) }
  }

  /**
   * A finished upload becomes a file: its bytes read back from the store once and hashed
   * (docs/decisions/0011-sha256-of-resumable-uploads.md), then the record and its link,
   * all or nothing; the caller then drops the upload's state (forget). Under the upload's lock, and idempotent:
   * a finish that comes again (the client retried, or asked by HEAD after a crash) finds the
   * file recorded. A failure takes the whole upload with it, as for POST /v1/files.
   */
  async function finish (request: FastifyRequest, id: string, finished?: Upload): Promise<Record<string, string>> {
    const fileId = fileIdOf(id) ?? ''
    const lock = uploadLocker.newLock(id)
    // The finish cannot stop half-way: a request asking for the lock waits for it.
    await lock.lock(new AbortController().signal, () => {})
    let upload: Upload | undefined
    try {
      const recorded = await linkStore.getFile(fileId)
      if (recorded !== null) return { [FILE_ID_HEADER]: fileId, 'Cache-Control': 'no-store' }
      upload = finished ?? await uploadStore.getUpload(id)
      const { owner, options } = keptOptions(upload)
      const size = upload.size ?? upload.offset
      // What the creation reserved: committed with the record, or given back if it fails.
      const quota = new QuotaHold(request, owner, reservedBy(upload))
      let sha256: string
      try {
        sha256 = size === 0 ? await storeEmpty(upload) : await hashOf(upload.id)
      } catch (err) {
        await quota.release()
        fastify.audit(request, 'file.upload_failed', { fileId, bytes: size, reason: (err as { code?: string }).code ?? 'error' })
        throw err
      }
      const { view } = await recordFile(request, {
        quota,
        id: fileId,
        owner,
        key: upload.id,
        stored: { filename: options.filename, contentType: options.contentType, size, sha256 },
        retention: options.retention,
        link: options.share ? { ttl: options.ttl, maxDownloads: options.maxDownloads } : undefined
      })
      return {
        [FILE_ID_HEADER]: fileId,
        ...(view.link === undefined ? {} : { [LINK_ID_HEADER]: view.link.id, [LINK_URL_HEADER]: view.link.url }),
        'Cache-Control': 'no-store'
      }
    } catch (err) {
      // Nothing half-written: no object without its record.
      if (upload !== undefined) await uploadStore.remove(upload.id).catch((e: unknown) => { request.log.error({ err: e, fileId }, 'failed upload not removed: the sweeper removes it at expiry') })
      throw err
    } finally {
      await lock.unlock().catch((err: unknown) => { request.log.warn({ err, fileId }, 'upload lock not released: it lapses with its lease') })
    }
  }

  /** Drops a finished upload's state, its file recorded; a failure leaves it to the sweeper. */
  async function forget (request: FastifyRequest, id: string): Promise<void> {
    await uploadStore.forget(id).catch((err: unknown) => { request.log.warn({ err, fileId: fileIdOf(id) }, 'upload state not dropped: the sweeper drops it at expiry') })
  }

  /** The SHA-256 of a finished upload's object, read back once (its parts may have come through several instances). */
  async function hashOf (id: string): Promise<string> {
    const hash = createHash('sha256')
    await pipeline(await uploadStore.open(id), hash)
    return hash.digest('hex')
  }

  /**
   * An upload of no bytes may have written nothing (S3 completes a multipart upload only with a
   * part, and tus writes none without a body): the store completes it now, with no bytes.
   */
  async function storeEmpty (upload: Upload): Promise<string> {
    if (!await objectStore.exists(upload.id)) await uploadStore.write(Readable.from([]), upload.id, 0)
    return EMPTY_SHA256
  }

  // tus goes on storing what a request received after its connection is gone (cut by the
  // shutdown's grace): the stores it writes to close only once it is done.
  const inflight = new Set<Promise<Response>>()
  fastify.addHook('onClose', async () => { await Promise.allSettled(inflight) })

  /** Hands the request to tus; the gateway's own errors are thrown, for Fastify's error handler. */
  async function runTus (request: FastifyRequest, reply: FastifyReply, context: Omit<Context, 'request'> = {}): Promise<Response> {
    const req = new NodeRequest({ req: request.raw, res: reply.raw }) as unknown as Request
    // The caller's own object: the hooks' findings (what was reserved) are the caller's to read.
    const ctx = Object.assign(context, { request })
    contexts.set(req, ctx)
    // The end of the shutdown grace ends a PATCH still running: tus keeps what it received,
    // and the client resumes elsewhere.
    const onShutdown = (): void => { request.raw.destroy(fastify.graceOver.reason as Error) }
    fastify.graceOver.addEventListener('abort', onShutdown, { once: true })
    const handling = tus.handleWeb(req)
    inflight.add(handling)
    try {
      const response = await handling
      if (ctx.finished !== undefined) await forget(request, ctx.finished)
      if (ctx.error !== undefined) throw ctx.error
      return response
    } finally {
      inflight.delete(handling)
      fastify.graceOver.removeEventListener('abort', onShutdown)
    }
  }

  /** A HEAD's Upload-Metadata without what the gateway keeps there of its own (owner, quota): what the client sent. */
  const INTERNAL_KEYS = new Set([OWNER, QUOTA_BYTES, QUOTA_FILES])
  const clientMetadata = (header: string): string => header.split(',').filter((pair) => !INTERNAL_KEYS.has(pair.trim().split(' ')[0] ?? '')).join(',')

  /** Sends tus's answer through Fastify (its hooks, the shutdown's Connection: close). */
  async function send (reply: FastifyReply, response: Response, headers: Record<string, string> = {}): Promise<FastifyReply> {
    reply.code(response.status)
    response.headers.forEach((value, name) => {
      if (name === 'upload-metadata') reply.header(name, clientMetadata(value))
      else if (name !== 'content-length') reply.header(name, value)
    })
    reply.headers(headers)
    const body = await response.text()
    return await reply.send(body === '' ? undefined : body)
  }

  async function handOver (request: FastifyRequest, reply: FastifyReply, context: Omit<Context, 'request'> = {}): Promise<FastifyReply> {
    return await send(reply, await runTus(request, reply, context))
  }

  /**
   * HEAD of a finished upload tells its file too, so that a client that lost the last
   * response still learns it: recorded, from the file (the upload's state is gone by then);
   * not yet (its instance stopped before), by finishing it now.
   */
  async function head (request: FastifyRequest, reply: FastifyReply, fileId: string): Promise<FastifyReply> {
    const response = await runTus(request, reply)
    if (response.status === 404) {
      const file = await linkStore.getFile(fileId)
      if (file === null || file.owner !== ownerOf(request)) return await send(reply, response)
      const size = String(file.size)
      return await reply.code(200).headers({ 'Tus-Resumable': TUS_RESUMABLE, 'Upload-Offset': size, 'Upload-Length': size, [FILE_ID_HEADER]: fileId, 'Cache-Control': 'no-store' }).send()
    }
    const length = response.headers.get('upload-length')
    if (response.status !== 200 || length === null || response.headers.get('upload-offset') !== length) return await send(reply, response)
    const headers = await finish(request, uploadIdOf(fileId))
    await forget(request, uploadIdOf(fileId))
    return await send(reply, response, headers)
  }

  const common = { scope: 'files:write' as const }
  const schema = { tags: ['uploads'], headers: TusHeadersSchema, querystring: NoQuerySchema }

  fastify.options('/uploads', {
    config: common,
    schema: { ...schema, summary: 'tus: the server\'s version, extensions and Tus-Max-Size', response: { 204: Type.Null(), ...errorResponses } }
  }, async (request, reply) => await handOver(request, reply))

  fastify.post('/uploads', {
    config: { ...common, rateLimit: fastify.rateLimits.upload, streamsBody: true },
    schema: {
      ...schema,
      summary: 'tus: create an upload (Upload-Length or Upload-Defer-Length: 1; Upload-Metadata), optionally with its first bytes',
      response: { 201: Type.Null({ description: 'Created: Location is the upload\'s URL; finished at once, the Linkgate-File-Id (and link) headers' }), ...tusResponses(400, 403, 412, 413) }
    }
  }, async (request, reply) => {
    const fileId = newId()
    const context: Omit<Context, 'request'> = { fileId }
    // A creation that did not create gives back what it reserved of the quota.
    const giveBack = async (): Promise<void> => {
      if (context.reserved !== undefined) await releaseQuota(usageStore, request.log, ownerOf(request), context.reserved)
    }
    const response = await withUploadSlot(request, ownerOf(request), fileId, async () => await runTus(request, reply, context))
      .catch(async (err: unknown) => {
        await giveBack()
        throw err
      })
    if (response.status !== 201) await giveBack()
    return await send(reply, response)
  })

  fastify.head('/uploads/:id', {
    config: common,
    schema: { ...schema, params: UploadParamsSchema, summary: 'tus: where to resume (Upload-Offset, Upload-Length); a finished upload\'s file (Linkgate-File-Id)', response: { 200: Type.Null({ description: 'Upload-Offset and Upload-Length; finished, Linkgate-File-Id' }), ...tusResponses(404, 410, 412) } }
  }, async (request, reply) => await head(request, reply, request.params.id))

  fastify.patch('/uploads/:id', {
    config: { ...common, streamsBody: true },
    schema: {
      ...schema,
      params: UploadParamsSchema,
      summary: 'tus: append bytes at Upload-Offset (Content-Type: application/offset+octet-stream)',
      response: { 204: Type.Null({ description: 'Stored: Upload-Offset is the new offset; the last one carries the Linkgate-File-Id (and link) headers' }), ...tusResponses(400, 403, 404, 409, 410, 412, 413) }
    }
  }, async (request, reply) => {
    return await withUploadSlot(request, ownerOf(request), request.params.id, async () => await handOver(request, reply))
  })

  fastify.delete('/uploads/:id', {
    config: common,
    schema: { ...schema, params: UploadParamsSchema, summary: 'tus: terminate an unfinished upload; nothing of it remains', response: { 204: Type.Null(), ...tusResponses(400, 404, 412) } }
  }, async (request, reply) => {
    const context: Omit<Context, 'request'> = {}
    const response = await runTus(request, reply, context)
    // Terminated: what its creation reserved of the quota goes back.
    if (response.status === 204 && context.upload !== undefined) await releaseQuota(usageStore, request.log, ownerOf(request), reservedBy(context.upload))
    return await send(reply, response)
  })
}

export default uploadsRoute
