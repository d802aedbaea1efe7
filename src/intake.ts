// The upload pipeline every way in shares (POST /v1/files, file requests' POST /r/<token>,
// tus completion): an upload slot, the stream into the ObjectStore through the meter, the
// error mapping, and the record (with its link) written all or nothing. Plain functions of
// the request: what they need (config, stores, audit) is on request.server.
import type { FastifyRequest } from 'fastify'
import { finished, Readable } from 'node:stream'
import type { LinkOptions } from './domain/link-policy.js'
import type { UploadMeter } from './domain/upload-meter.js'
import { HttpError, badRequest, tooLarge } from './errors.js'
import { createShareLink, fileView, shareDeps, type FileView, type NewLinkView } from './share.js'
import { orphanKey } from './stores/object-store.js'
import type { FileRecord } from './stores/link-store.js'

/** One file as it arrives: its bytes, and what the client said it is. */
export interface Incoming { source: Readable, filename: string, contentType: string }

/** One file as it was stored. */
export interface Stored { filename: string, contentType: string, size: number, sha256: string }

/** An upload's hold on one of its owner's UPLOAD_CONCURRENCY slots lapses this long after its instance stopped renewing it. */
const SLOT_LEASE_MS = 60_000

/**
 * Streams one file to the store under `key`, through `meter` (size limit, SHA-256); on any
 * failure nothing of it remains. The client going away cancels the write, and so does the
 * end of the shutdown grace (the server waits SHUTDOWN_GRACE seconds for uploads in flight).
 */
export async function storeUpload (request: FastifyRequest, key: string, incoming: Incoming, meter: UploadMeter): Promise<Stored> {
  const { objectStore, graceOver } = request.server
  // The store may attach its listeners only after an await; until then an error must
  // not go unheard (it would crash the process). put() still sees it and rejects.
  meter.on('error', () => {})
  // finished() also reports an error the source hit before we got here (busboy can fail
  // a part before the handler sees it); pipeline() would do that too, but would destroy
  // the request on a storage failure, and the client would get a reset, not a 503.
  finished(incoming.source, { writable: false }, (err) => { if (err !== undefined && err !== null) meter.destroy(err) })
  incoming.source.pipe(meter)
  const cancel = new AbortController()
  const onClose = (): void => { if (!request.raw.complete) cancel.abort(badRequest('LG_UPLOAD_ABORTED', 'The client closed the connection mid-upload')) }
  const onShutdown = (): void => { cancel.abort(graceOver.reason) }
  request.raw.once('close', onClose)
  if (graceOver.aborted) onShutdown()
  else graceOver.addEventListener('abort', onShutdown, { once: true })
  try {
    await objectStore.put(key, meter, { contentType: incoming.contentType, filename: incoming.filename, signal: cancel.signal })
  } finally {
    request.raw.off('close', onClose)
    graceOver.removeEventListener('abort', onShutdown)
  }
  return { filename: incoming.filename, contentType: incoming.contentType, size: meter.bytes, sha256: meter.sha256() }
}

/**
 * What went wrong, as the client's mistake where it was one: @fastify/multipart's own
 * errors by class (where the route registered it), the client leaving by Node's codes, and
 * busboy's parse errors (plain Errors, which carry no code) as a malformed body. Storage
 * failures are HttpErrors already.
 */
export function uploadError (err: unknown, request: FastifyRequest): unknown {
  if (err instanceof HttpError) return err
  const message = err instanceof Error ? err.message : ''
  const multipartErrors = request.server.hasDecorator('multipartErrors') ? request.server.multipartErrors : undefined
  if (multipartErrors !== undefined) {
    const { RequestFileTooLargeError, FilesLimitError, PartsLimitError, FieldsLimitError, PrototypeViolationError, PrematureCloseError } = multipartErrors
    if (err instanceof RequestFileTooLargeError) return tooLarge(request.server.config.maxUploadBytes)
    if (err instanceof FilesLimitError) return badRequest('LG_BAD_MULTIPART', 'Send exactly one file part, named "file"')
    if (err instanceof PartsLimitError || err instanceof FieldsLimitError || err instanceof PrototypeViolationError || err instanceof PrematureCloseError) {
      return badRequest('LG_BAD_MULTIPART', `Malformed multipart body: ${message}`)
    }
  }
  if ((err as { code?: string }).code === 'ECONNRESET' || message === 'aborted') return badRequest('LG_UPLOAD_ABORTED', 'The client closed the connection mid-upload')
  if (request.isMultipart() && err instanceof Error && Object.getPrototypeOf(err) === Error.prototype) {
    return badRequest('LG_BAD_MULTIPART', `Malformed multipart body: ${message}`)
  }
  return err
}

/**
 * Runs `work` holding one of `owner`'s UPLOAD_CONCURRENCY slots (across instances), as
 * upload `id`, renewed while it runs: a user's uploads in progress are bounded, paused ones
 * included. All taken: a 429 before a byte of the body is read.
 */
export async function withUploadSlot<T> (request: FastifyRequest, owner: string, id: string, work: () => Promise<T>): Promise<T> {
  const { budgetStore, config: { limits } } = request.server
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

/** Deletes an object an upload stored but will not keep; a failure is logged (the bucket rule is the backstop). */
export async function dropObject (request: FastifyRequest, key: string): Promise<void> {
  await request.server.objectStore.delete(key).catch((e: unknown) => request.log.error({ err: e, key }, 'orphan object left after a failed upload'))
}

/** A failed upload, audited; returns the error to answer with. */
export function uploadFailed (request: FastifyRequest, err: unknown, fileId: string, bytes: number): unknown {
  const error = uploadError(err, request)
  request.server.audit(request, 'file.upload_failed', { fileId, bytes, reason: (error as { code?: string }).code ?? 'error' })
  return error
}

export interface NewFile {
  id: string
  owner: string
  /** Where the bytes are: the object storeUpload() wrote. */
  key: string
  stored: Stored
  /** Seconds until the retention sweeper deletes it; undefined: the default (FILE_MAX_RETENTION, or kept). */
  retention?: number | undefined
  /** The file request it came in by. */
  request?: string | undefined
  /** Also mint a share link with these options. */
  link?: LinkOptions | undefined
}

/**
 * Writes the record of a stored object (and its link, if asked) and audits it; all or
 * nothing: a failed record or link takes the object with it, audited as a failed upload.
 */
export async function recordFile (request: FastifyRequest, { id, owner, key, stored, retention, request: requestId, link: linkOptions }: NewFile): Promise<{ file: FileRecord, view: FileView & { link?: NewLinkView | undefined } }> {
  const { config, linkStore, objectStore, audit } = request.server
  const createdAt = Date.now()
  // With FILE_MAX_RETENTION set, every file has a retention (the longest by default), so
  // a bucket lifecycle rule can back the sweeper up without deleting a kept file's bytes.
  const keep = retention ?? config.fileMaxRetention
  const expiresAt = keep === null ? null : createdAt + keep * 1000
  const file: FileRecord = { id, owner, key, ...stored, createdAt, expiresAt, ...(requestId === undefined ? {} : { request: requestId }) }
  try {
    await linkStore.putFile(file)
    const link = linkOptions === undefined ? undefined : await createShareLink(shareDeps(config, linkStore), file, linkOptions)
    audit(request, 'file.uploaded', { fileId: id, bytes: file.size })
    if (link !== undefined) audit(request, 'link.created', {}, link.record)
    return { file, view: { ...fileView(file), link: link?.view } }
  } catch (err) {
    // With the link store down the record may have landed or not: only once it is surely
    // gone does the object go; otherwise a marker in the object store hands both to the
    // sweeper, which cleans up once the store is back.
    const recordGone = await linkStore.deleteFile(id).then(() => true, () => false)
    if (recordGone) {
      await dropObject(request, key)
    } else {
      await objectStore.put(orphanKey(id), Readable.from([]), { contentType: 'application/octet-stream', filename: id }).then(
        () => request.log.warn({ fileId: id }, 'upload failed with the link store down: its object is queued for the sweeper'),
        (e: Error) => request.log.error({ err: { message: e.message }, fileId: id }, 'upload failed and could not be cleaned up: object left (the bucket lifecycle rule is the backstop)'))
    }
    audit(request, 'file.upload_failed', { fileId: id, bytes: file.size, reason: (err as { code?: string }).code ?? 'error' })
    throw err
  }
}
