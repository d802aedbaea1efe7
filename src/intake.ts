// The upload pipeline every way in shares (POST /v1/files, file requests' POST /r/<token>,
// tus completion): an upload slot, the owner's quota, the stream into the ObjectStore through
// the meter, the error mapping, and the record (with its link) written all or nothing. Plain
// functions of the request: what they need (config, stores, audit) is on request.server.
import type { FastifyBaseLogger, FastifyRequest } from 'fastify'
import { finished, Readable } from 'node:stream'
import type { LinkOptions } from './domain/link-policy.js'
import type { UploadMeter } from './domain/upload-meter.js'
import { HttpError, badRequest, tooLarge } from './errors.js'
import { createShareLink, fileView, shareDeps, type FileView, type NewLinkView } from './share.js'
import { orphanKey } from './stores/object-store.js'
import type { FileRecord } from './stores/link-store.js'
import { fits, remaining, usageKey, type Caps, type Usage, type UsageStore } from './stores/usage-store.js'

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

/** Bytes an upload of unknown length reserves of its owner's quota at a time, as they come. */
const QUOTA_STEP = 8 * 1024 * 1024
const NOTHING: Usage = { bytes: 0, files: 0 }

/** The 403 (no files left) or 413 (not enough bytes) for `amount` that `usage` has no room for under `caps`; it says what is left. */
export function overQuota (amount: Usage, usage: Usage, caps: Caps): HttpError {
  const left = remaining(usage, caps)
  const members = { ...(left.bytes === null ? {} : { remainingBytes: left.bytes }), ...(left.files === null ? {} : { remainingFiles: left.files }) }
  const headers = { connection: 'close' }
  if (!fits(usage, { bytes: 0, files: amount.files }, caps)) {
    return new HttpError(403, 'LG_QUOTA_FILES', `File quota reached: ${usage.files} of ${caps.files ?? 0} files kept (QUOTA_FILES); delete some to upload more`, headers, members)
  }
  return new HttpError(413, 'LG_QUOTA_BYTES', `Not enough storage quota left for this upload: ${left.bytes ?? 0} of ${caps.bytes ?? 0} bytes remain (QUOTA_BYTES); delete files to free some`, headers, members)
}

/**
 * Reserves `amount` of `owner`'s quota (QUOTA_BYTES, QUOTA_FILES; across instances, atomically),
 * or throws overQuota(). Returns the usage after it. The caller gives it back (releaseQuota)
 * once it is not used: a file request's upload reserves from its owner's quota, a tus upload
 * at creation. `held`: what the same upload holds already, left out of what the refusal says
 * is left (it goes back when the upload fails).
 */
export async function reserveQuota (request: FastifyRequest, owner: string, amount: Usage, held: Usage = NOTHING): Promise<Usage> {
  const caps = request.server.config.quota
  const reservation = await request.server.usageStore.reserve(usageKey(owner), amount, caps)
  if (!reservation.ok) throw overQuota(amount, withoutHeld(reservation.usage, held), caps)
  return reservation.usage
}

const withoutHeld = (usage: Usage, held: Usage): Usage => ({ bytes: Math.max(0, usage.bytes - held.bytes), files: Math.max(0, usage.files - held.files) })

/**
 * Gives `amount` of `owner`'s usage back (a file deleted, a reservation not used). Never
 * throws: with the store down the usage stays over-counted, which errs on the safe side.
 */
export async function releaseQuota (usageStore: UsageStore, log: FastifyBaseLogger, owner: string, amount: Usage): Promise<void> {
  await releaseUsage(usageStore, log, usageKey(owner), amount)
}

async function releaseUsage (usageStore: UsageStore, log: FastifyBaseLogger, key: string, amount: Usage): Promise<void> {
  if (amount.bytes <= 0 && amount.files <= 0) return
  await usageStore.release(key, amount)
    .catch((err: Error) => { log.warn({ err: { message: err.message }, bytes: amount.bytes, files: amount.files }, 'quota not given back: usage over-counted until released') })
}

/**
 * What a hold counts against: a UsageStore key and its caps, and the refusal for `amount`
 * that `usage` (this upload's own share left out) has no room for, saying what is left;
 * `step`: bytes of unknown length reserved at a time (default 8 MiB), smaller for small caps,
 * so that one upload's step does not crowd out the others'.
 */
export interface Allowance { key: string, caps: Caps, refuse: (amount: Usage, usage: Usage, caps: Caps) => HttpError, step?: number }

/** An owner's quota: QUOTA_BYTES and QUOTA_FILES. */
export function ownerQuota (request: FastifyRequest, owner: string): Allowance {
  return { key: usageKey(owner), caps: request.server.config.quota, refuse: overQuota }
}

/**
 * One file's hold on its owner's quota (or another allowance: a file request's caps): the
 * file and, when the length is known, all its bytes before a byte is read (take); bytes of unknown length in steps as they come (admit, for the
 * UploadMeter), refused mid-stream; once recorded, what was not used goes back (commit); on
 * any failure, everything (release). Counters without a cap are counted at commit only, so
 * that an upload without quotas costs no store call while it streams.
 */
export class QuotaHold {
  readonly #request: FastifyRequest
  readonly #allowance: Allowance
  readonly #caps: Caps
  /** What this hold has added to the allowance's usage and not given back. */
  readonly #held: Usage
  #pending: Promise<void> | null = null
  /** Given back: the upload failed, and nothing more may be reserved for it. */
  #released = false

  /**
   * `held`: what was reserved for this file already (a tus upload's, at its creation);
   * `allowance`: what it counts against, the owner's quota unless said (a file request's caps).
   */
  constructor (request: FastifyRequest, owner: string, held: Usage = NOTHING, allowance: Allowance = ownerQuota(request, owner)) {
    this.#request = request
    this.#allowance = allowance
    this.#caps = allowance.caps
    this.#held = { ...held }
  }

  async #reserve (amount: Usage): Promise<void> {
    const { key, caps, refuse } = this.#allowance
    const reservation = await this.#request.server.usageStore.reserve(key, amount, caps)
    if (!reservation.ok) throw refuse(amount, withoutHeld(reservation.usage, this.#held), caps)
  }

  async #release (amount: Usage): Promise<void> {
    await releaseUsage(this.#request.server.usageStore, this.#request.log, this.#allowance.key, amount)
  }

  /** Before a byte is read: the file, and `length` bytes if the body says how long it is (else 413 at once). */
  async take (length: number | undefined): Promise<void> {
    const amount = {
      bytes: this.#caps.bytes === null || length === undefined ? 0 : Math.max(0, length - this.#held.bytes),
      files: this.#caps.files === null ? 0 : Math.max(0, 1 - this.#held.files)
    }
    if (amount.bytes === 0 && amount.files === 0) return
    await this.#reserve(amount)
    this.#held.bytes += amount.bytes
    this.#held.files += amount.files
  }

  /** For the UploadMeter: `total` bytes have come; resolves once they are reserved, undefined when they are already. */
  readonly admit = (total: number): Promise<void> | undefined => {
    // Asked after release (an admit chained behind another hold's, still in flight when the
    // upload failed): what it reserved would never be given back.
    if (this.#released) return Promise.reject(new Error('the upload has failed: its quota hold is given back'))
    if (this.#caps.bytes === null || total <= this.#held.bytes) return undefined
    this.#pending = this.#more(total - this.#held.bytes).finally(() => { this.#pending = null })
    return this.#pending
  }

  /** Reserves at least `need` more bytes: a step, or, when the step does not fit, what is left if that is enough. */
  async #more (need: number): Promise<void> {
    const { usageStore } = this.#request.server
    const caps = { bytes: this.#caps.bytes, files: null }
    let want = Math.max(need, this.#allowance.step ?? QUOTA_STEP)
    for (;;) {
      const reservation = await usageStore.reserve(this.#allowance.key, { bytes: want, files: 0 }, caps)
      if (reservation.ok) {
        this.#held.bytes += want
        return
      }
      const left = remaining(reservation.usage, caps).bytes ?? 0
      if (left < need) throw this.#allowance.refuse({ bytes: need, files: 0 }, withoutHeld(reservation.usage, this.#held), this.#caps)
      want = left
    }
  }

  /** The file is being recorded with `size` bytes: counts what no cap reserved, gives back what was reserved but not used. */
  async commit (size: number): Promise<void> {
    const add = { bytes: Math.max(0, size - this.#held.bytes), files: Math.max(0, 1 - this.#held.files) }
    if (add.bytes > 0 || add.files > 0) {
      // Where there is no cap (a capped counter holds it all already, but for a tus upload of
      // deferred length): checked all the same, so a cap is never passed.
      await this.#reserve(add)
      this.#held.bytes += add.bytes
      this.#held.files += add.files
    }
    const unused = { bytes: Math.max(0, this.#held.bytes - size), files: Math.max(0, this.#held.files - 1) }
    this.#held.bytes -= unused.bytes
    this.#held.files -= unused.files
    await this.#release(unused)
  }

  /** The upload failed: gives back everything it holds. Never throws. */
  async release (): Promise<void> {
    this.#released = true
    await this.#pending?.catch(() => {})
    const held = { ...this.#held }
    this.#held.bytes = 0
    this.#held.files = 0
    await this.#release(held)
  }
}

/**
 * The length a raw (not multipart) body declares (Content-Length); undefined when it declares
 * none. Over MAX_UPLOAD_BYTES: the 413 at once, before a byte is read or anything reserved.
 */
export function declaredLength (request: FastifyRequest): number | undefined {
  const length = request.headers['content-length']
  if (request.isMultipart() || length === undefined || !/^[0-9]+$/.test(length)) return undefined
  const { maxUploadBytes } = request.server.config
  if (Number(length) > maxUploadBytes) throw tooLarge(maxUploadBytes)
  return Number(length)
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
  /** The file's hold on its owner's quota: committed with the record, released if it fails. */
  quota: QuotaHold
}

/**
 * Writes the record of a stored object (and its link, if asked), counts it against its
 * owner's quota and audits it; all or nothing: a failed record or link takes the object with
 * it and gives the quota back, audited as a failed upload.
 */
export async function recordFile (request: FastifyRequest, { id, owner, key, stored, retention, request: requestId, link: linkOptions, quota }: NewFile): Promise<{ file: FileRecord, view: FileView & { link?: NewLinkView | undefined } }> {
  const { config, linkStore, objectStore, audit } = request.server
  const createdAt = Date.now()
  // With FILE_MAX_RETENTION set, every file has a retention (the longest by default), so
  // a bucket lifecycle rule can back the sweeper up without deleting a kept file's bytes.
  const keep = retention ?? config.fileMaxRetention
  const expiresAt = keep === null ? null : createdAt + keep * 1000
  const file: FileRecord = { id, owner, key, ...stored, createdAt, expiresAt, ...(requestId === undefined ? {} : { request: requestId }) }
  try {
    // Counted before it is recorded: a failure in between over-counts, never under-counts.
    await quota.commit(file.size)
    await linkStore.putFile(file)
    const link = linkOptions === undefined ? undefined : await createShareLink(shareDeps(config, linkStore), file, linkOptions)
    audit(request, 'file.uploaded', { fileId: id, bytes: file.size })
    if (link !== undefined) audit(request, 'link.created', {}, link.record)
    return { file, view: { ...fileView(file), link: link?.view } }
  } catch (err) {
    await quota.release()
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
