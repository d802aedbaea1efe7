// /r/:token — a file request's link: anyone holding it (no account) uploads files into the
// request's owner's files, within the request's caps (files and bytes, atomically across
// instances, mid-stream) and the owner's quota. GET is the upload page (browsers) or what is
// left (API clients); POST takes one file, multipart (part "file", after an optional
// "password" field) or the raw body. The token's shape is checked before any I/O; every
// request spends the client's /r/* and /s/* budgets first (plugins/rate-limit.ts), and an
// unknown or expired token is a miss. A revoked, expired or full request refuses before a byte
// of a file is read; the uploader learns nothing of the owner, nor of other files.
import multipart from '@fastify/multipart'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyRequest } from 'fastify'
import { readFileSync } from 'node:fs'
import { Type } from 'typebox'
import { normaliseContentType } from '../domain/content-type.js'
import { cleanFilename, decodeMultipartFilename } from '../domain/filename.js'
import { headerText } from '../domain/header-text.js'
import { newId } from '../domain/ids.js'
import { prefersHtml } from '../domain/negotiation.js'
import { verifyPassword } from '../domain/password.js'
import { typeAllowed, typeNotAllowed } from '../domain/request-policy.js'
import { TOKEN_PATTERN, hashToken } from '../domain/tokens.js'
import { UploadMeter, type Admit } from '../domain/upload-meter.js'
import { HttpError, badRequest } from '../errors.js'
import { isFull, requestInfo, requestUsageKey } from '../file-requests.js'
import { QuotaHold, declaredLength, dropObject, ownerQuota, recordFile, storeUpload, uploadFailed, withUploadSlot, type Allowance, type Incoming, type Stored } from '../intake.js'
import { REQUEST_PAGE_SCRIPT, pageHeaders, receivedPage, requestPage } from '../pages.js'
import { IgnoredQuerySchema, ProblemResponse, ReceivedFileSchema, RequestInfoSchema, errorResponses } from '../schemas.js'
import { objectKey } from '../stores/object-store.js'
import { requestStatus, type RequestRecord } from '../stores/request-store.js'
import { fits, type Caps, type Usage } from '../stores/usage-store.js'
import { PRIVATE } from './redeem.js'

const TokenParamsSchema = Type.Object({ token: Type.String({ pattern: TOKEN_PATTERN, description: 'The file request\'s token' }) })
const UploadQuerySchema = Type.Object({
  filename: Type.Optional(Type.String({ maxLength: 1024, description: 'File name for a raw (non-multipart) upload' }))
}, { additionalProperties: false })
const requestErrors = { ...errorResponses, 403: ProblemResponse, 410: ProblemResponse }

/** The page's script: a file beside the compiled routes (tsc copies it, allowJs). */
const SCRIPT = readFileSync(new URL('../assets/request.js', import.meta.url))

const MiB = 1024 * 1024

const unknownRequest = (): HttpError => new HttpError(404, 'LG_NOT_FOUND', 'This upload link is unknown.')

/** What a request's caps allow, and the refusals that say what is left. */
function requestAllowance (fileRequest: RequestRecord): Allowance {
  return {
    key: requestUsageKey(fileRequest.id),
    caps: { files: fileRequest.maxFiles, bytes: fileRequest.maxBytes },
    // A sixteenth of the cap at a time (64 KiB to 8 MiB): a small request's bytes are not all
    // spoken for by the first upload of unknown length while it streams.
    step: Math.min(8 * MiB, Math.max(64 * 1024, Math.ceil(fileRequest.maxBytes / 16))),
    refuse: (amount: Usage, usage: Usage) => {
      const members = { remainingFiles: Math.max(0, fileRequest.maxFiles - usage.files), remainingBytes: Math.max(0, fileRequest.maxBytes - usage.bytes) }
      if (amount.files > 0 && usage.files + amount.files > fileRequest.maxFiles) return requestFull(members)
      return new HttpError(413, 'LG_REQUEST_TOO_LARGE', `This request takes ${members.remainingBytes} more bytes, and this file is larger`, { connection: 'close' }, members)
    }
  }
}

/**
 * The owner's quota, refused without a word of what the owner keeps (their usage and limits
 * are theirs: the uploader learns only that there is no room).
 */
function ownerQuotaOf (request: FastifyRequest, owner: string): Allowance {
  return {
    ...ownerQuota(request, owner),
    refuse: (amount: Usage, usage: Usage, caps: Caps) => fits(usage, { bytes: 0, files: amount.files }, caps)
      ? new HttpError(413, 'LG_QUOTA_BYTES', 'The recipient has no storage left for this file', { connection: 'close' })
      : new HttpError(403, 'LG_QUOTA_FILES', 'The recipient cannot take more files now', { connection: 'close' })
  }
}

function requestFull (members: { remainingFiles: number, remainingBytes: number }): HttpError {
  return new HttpError(403, 'LG_REQUEST_FULL', 'This request has received all it takes: nothing more can be sent', { connection: 'close' }, members)
}

const requestUploadRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  const { requestStore, usageStore, config, redeemGuard: guard } = fastify
  const publicOrigin = new URL(config.publicUrl).origin
  // The page's script comes from /assets/ and posts to /r/ (pages.ts pageHeaders).
  const pageScripts = { assets: `${publicOrigin}/assets/`, api: `${publicOrigin}/r/` }

  fastify.addHook('onRequest', (_request, reply, done) => {
    reply.headers(PRIVATE)
    done()
  })
  // Every body but multipart is the file itself, streamed: no parser may buffer it.
  fastify.removeAllContentTypeParsers()
  fastify.addContentTypeParser('*', (_request, _payload, done) => { done(null) })
  await fastify.register(multipart, {
    throwFileSizeLimit: true,
    // One byte over the limit, so that the meter (not busboy's silent truncation) stops it.
    limits: { fileSize: config.maxUploadBytes + 1, files: 1, fields: 5, fieldSize: 4096, parts: 10, headerPairs: 100 }
  })

  fastify.get(REQUEST_PAGE_SCRIPT, { schema: { hide: true } }, async (_request, reply) =>
    await reply.headers({ 'content-type': 'text/javascript; charset=utf-8', 'x-content-type-options': 'nosniff', 'cache-control': 'no-cache' }).send(SCRIPT))

  /** An audited refusal of `fileRequest` (null: the token is unknown). */
  function denied (request: FastifyRequest, reason: 'not_found' | 'expired' | 'revoked' | 'full' | 'type_not_allowed' | 'unauthenticated' | 'bad_password', fileRequest: RequestRecord | null, error: HttpError): HttpError {
    fastify.audit(request, 'request.denied', { reason, fileRequestId: fileRequest?.id ?? null })
    return error
  }

  /**
   * The open request of the token (after admitFileRequest, which reserved a miss: kept for an
   * unknown or expired token, given back otherwise); else the audited 404 or 410.
   */
  async function openRequest (request: FastifyRequest): Promise<RequestRecord> {
    const fileRequest = await requestStore.findRequest(hashToken((request.params as { token: string }).token))
    if (fileRequest === null) throw denied(request, 'not_found', null, unknownRequest())
    const status = requestStatus(fileRequest, Date.now())
    if (status !== 'expired') await guard.notAMiss(request)
    if (status === 'revoked') throw denied(request, 'revoked', fileRequest, new HttpError(410, 'LG_REQUEST_CLOSED', 'This upload link was closed by its owner.'))
    if (status === 'expired') throw denied(request, 'expired', fileRequest, new HttpError(410, 'LG_REQUEST_EXPIRED', 'This upload link has expired.'))
    return fileRequest
  }

  /** Throws (audited) unless the request has no password or `password` is it; a guess is counted before scrypt runs, given back when right. */
  async function checkPassword (request: FastifyRequest, fileRequest: RequestRecord, password: string | undefined): Promise<void> {
    if (fileRequest.passwordHash === null) return
    if (password === undefined || password === '') {
      throw denied(request, 'unauthenticated', fileRequest,
        new HttpError(401, 'LG_PASSWORD_REQUIRED', 'This upload link needs its password (X-Request-Password header, or a "password" field before the file)'))
    }
    const attempt = await guard.passwordAttempt(request, { fileRequestId: fileRequest.id })
    try {
      if (await verifyPassword(password, fileRequest.passwordHash)) {
        await attempt.refund()
        return
      }
    } finally {
      attempt.release()
    }
    throw denied(request, 'bad_password', fileRequest, new HttpError(403, 'LG_PASSWORD_WRONG', 'Wrong password'))
  }

  fastify.get('/r/:token', {
    preHandler: guard.admitFileRequest,
    schema: {
      summary: 'A file request\'s link: the upload page (browsers), or what it still takes (API clients)',
      params: TokenParamsSchema,
      querystring: IgnoredQuerySchema,
      response: {
        200: {
          description: 'What the request still takes; browsers get the upload page',
          content: { 'application/json': { schema: RequestInfoSchema }, 'text/html': { schema: Type.String() } }
        },
        ...requestErrors
      }
    }
  }, async (request, reply) => {
    const fileRequest = await openRequest(request)
    const info = requestInfo(fileRequest, await usageStore.get(requestUsageKey(fileRequest.id)), config.maxUploadBytes)
    if (!prefersHtml(request.headers.accept)) return await reply.type('application/json; charset=utf-8').send(info)
    return await reply.headers(pageHeaders([publicOrigin], pageScripts)).send(requestPage({
      action: `/r/${request.params.token}`,
      message: info.message,
      expiresAt: fileRequest.expiresAt,
      filesLeft: info.filesLeft,
      bytesLeft: info.bytesLeft,
      maxFileBytes: info.maxFileBytes,
      allowedTypes: info.allowedTypes,
      needsPassword: info.passwordRequired
    }))
  })

  fastify.post('/r/:token', {
    preHandler: guard.admitFileRequest,
    config: { streamsBody: true },
    schema: {
      summary: 'Upload one file through a file request (multipart part "file", after an optional "password" field; or the raw body)',
      params: TokenParamsSchema,
      querystring: UploadQuerySchema,
      // 256 characters of up to 4 bytes, as Node reads them (latin1: a character a byte).
      headers: Type.Object({ 'x-request-password': Type.Optional(Type.String({ maxLength: 1024 })) }),
      response: {
        201: {
          description: 'Received: what the uploader needs to know of it, nothing of the owner\'s (browsers posting the form get a page)',
          content: { 'application/json': { schema: ReceivedFileSchema }, 'text/html': { schema: Type.String() } }
        },
        ...requestErrors,
        413: ProblemResponse,
        415: ProblemResponse,
        502: ProblemResponse
      }
    }
  }, async (request, reply) => {
    // The rest of a refused body is not worth reading.
    reply.header('connection', 'close')
    const fileRequest = await openRequest(request)
    const usageKey = requestUsageKey(fileRequest.id)
    // Full already: refused before the body is read (the reservation below decides races).
    const received = await usageStore.get(usageKey)
    if (isFull(fileRequest, received)) {
      throw denied(request, 'full', fileRequest, requestFull({ remainingFiles: Math.max(0, fileRequest.maxFiles - received.files), remainingBytes: Math.max(0, fileRequest.maxBytes - received.bytes) }))
    }
    const header = request.headers['x-request-password']
    let password = header === undefined ? undefined : headerText(header)
    const id = newId()
    const key = objectKey(id)
    // The request's caps and the owner's quota: each reserves the file, and bytes as they come.
    const caps = new QuotaHold(request, fileRequest.owner, undefined, requestAllowance(fileRequest))
    const quota = new QuotaHold(request, fileRequest.owner, undefined, ownerQuotaOf(request, fileRequest.owner))
    const admit: Admit = (total) => {
      const first = caps.admit(total)
      return first === undefined ? quota.admit(total) : first.then(async () => { await quota.admit(total) })
    }
    const meter = new UploadMeter(config.maxUploadBytes, admit)
    let stored: Stored | null = null

    /** The password, the type, then the caps and the quota: all before a byte of the file is read. */
    async function begin (incoming: Incoming, length: number | undefined): Promise<Stored> {
      await checkPassword(request, fileRequest, password)
      if (!typeAllowed(incoming.contentType, fileRequest.allowedTypes)) {
        throw denied(request, 'type_not_allowed', fileRequest, typeNotAllowed(fileRequest.allowedTypes ?? []))
      }
      try {
        await caps.take(length)
      } catch (err) {
        if (err instanceof HttpError && err.code === 'LG_REQUEST_FULL') throw denied(request, 'full', fileRequest, err)
        throw err
      }
      await quota.take(length)
      return await storeUpload(request, key, incoming, meter)
    }

    // Strangers' uploads take the request's own UPLOAD_CONCURRENCY slots, not the owner's.
    return await withUploadSlot(request, `request:${fileRequest.id}`, id, async () => {
      try {
        if (request.isMultipart()) {
          for await (const part of request.parts()) {
            if (part.type === 'field') {
              if (part.fieldname === 'password' && typeof part.value === 'string') password = part.value
              continue
            }
            if (part.fieldname !== 'file' || stored !== null) throw badRequest('LG_BAD_MULTIPART', 'Send exactly one file part, named "file"')
            stored = await begin({
              source: part.file,
              filename: cleanFilename(decodeMultipartFilename(part.filename ?? '')),
              contentType: normaliseContentType(part.mimetype)
            }, undefined)
          }
          if (stored === null) throw badRequest('LG_NO_FILE', 'The multipart body has no file part named "file"')
        } else {
          stored = await begin({
            source: request.raw,
            filename: cleanFilename(request.query.filename),
            contentType: normaliseContentType(request.headers['content-type'])
          }, declaredLength(request))
        }
        // Revoked while the file came in: the owner no longer wants it.
        const now = await requestStore.getRequest(fileRequest.id)
        if (now?.revokedAt !== null) throw denied(request, 'revoked', fileRequest, new HttpError(410, 'LG_REQUEST_CLOSED', 'This upload link was closed by its owner.'))
        // What it took of the request's caps, settled before the record (as recordFile does the quota's).
        await caps.commit(stored.size)
      } catch (err) {
        await Promise.all([caps.release(), quota.release()])
        if (stored !== null) await dropObject(request, key)
        throw uploadFailed(request, err, id, meter.bytes)
      }
      try {
        await recordFile(request, { id, owner: fileRequest.owner, key, stored, request: fileRequest.id, quota })
      } catch (err) {
        await caps.release()
        throw err
      }
      fastify.audit(request, 'request.file_received', { fileId: id, bytes: stored.size, fileRequestId: fileRequest.id })
      const { filename, size, contentType, sha256 } = stored
      reply.removeHeader('connection')
      if (prefersHtml(request.headers.accept)) return await reply.code(201).headers(pageHeaders()).send(receivedPage(filename, size, `/r/${request.params.token}`))
      return await reply.code(201).type('application/json; charset=utf-8').send({ filename, size, contentType, sha256 })
    })
  })
}

export default requestUploadRoutes
