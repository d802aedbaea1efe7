// Production ObjectStore on S3 (or an S3-compatible store). Uploads stream through
// lib-storage's multipart Upload with a bounded part size and queue, so memory per
// upload is about (queueSize + 1) × partSize whatever the file size.
import { DeleteObjectCommand, GetObjectCommand, HeadBucketCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3'
import { Upload } from '@aws-sdk/lib-storage'
import { S3RequestPresigner, getSignedUrl } from '@aws-sdk/s3-request-presigner'
import type { Readable } from 'node:stream'
import { contentDisposition } from '../domain/content-disposition.js'
import { HttpError, badGateway, unavailable } from '../errors.js'
import type { ObjectStore, PutOptions, SignedUrlOptions } from './object-store.js'

const MiB = 1024 * 1024
const MAX_PARTS = 10_000

export interface S3ObjectStoreOptions {
  client: S3Client
  bucket: string
  /** The largest object this store will be asked to hold; sets the part size. */
  maxObjectBytes: number
  queueSize?: number
  /** Milliseconds for HeadBucket in ping(). */
  pingTimeout?: number
}

/** RFC 3986 percent-encoding, as SigV4 canonicalises query strings and paths. */
function escapeUri (value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase())
}

/** Where GETs of this bucket go, found once by presigning a probe the SDK's slow way. */
interface PresignTarget {
  protocol: string
  hostname: string
  port: number | undefined
  host: string
  /** The path before the key: `/` (virtual-hosted) or `/<bucket>/` (path-style). */
  prefix: string
  presigner: S3RequestPresigner
}

const PROBE_KEY = 'linkgate-presign-probe'

function isNetworkError (err: unknown): boolean {
  const e = err as { name?: string, code?: string, $metadata?: { httpStatusCode?: number } }
  return e.$metadata?.httpStatusCode === undefined ||
    ['TimeoutError', 'RequestTimeout', 'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT'].includes(e.name ?? e.code ?? '')
}

/** S3 failures become 503 (unreachable) or 502 (it answered with an error). */
function storeError (err: unknown): HttpError {
  return isNetworkError(err) ? unavailable('object store', err) : badGateway('object store', err)
}

export class S3ObjectStore implements ObjectStore {
  readonly #client: S3Client
  readonly #bucket: string
  readonly #partSize: number
  readonly #queueSize: number
  readonly #pingTimeout: number
  #target: Promise<PresignTarget> | undefined

  constructor (options: S3ObjectStoreOptions) {
    this.#client = options.client
    this.#bucket = options.bucket
    this.#partSize = Math.max(8 * MiB, Math.ceil(options.maxObjectBytes / MAX_PARTS))
    this.#queueSize = options.queueSize ?? 4
    this.#pingTimeout = options.pingTimeout ?? 2000
  }

  async put (key: string, body: Readable, { contentType, signal }: PutOptions): Promise<void> {
    // The body's own error (too large, client gone) is the one to report, not the
    // follow-up failure of lib-storage's abort.
    let bodyError: unknown
    body.once('error', (err) => { bodyError ??= err })
    const upload = new Upload({
      client: this.#client,
      params: { Bucket: this.#bucket, Key: key, Body: body, ContentType: contentType },
      partSize: this.#partSize,
      queueSize: this.#queueSize,
      leavePartsOnError: false
    })
    const abort = (): void => { upload.abort().catch(() => {}) }
    signal?.addEventListener('abort', abort, { once: true })
    try {
      await upload.done()
    } catch (err) {
      body.destroy()
      // Nothing may remain: lib-storage aborts the multipart upload, and a single-part
      // PutObject may have landed just before the failure was noticed. Bounded, so that a
      // stalled store does not hold the answer for another round of retries.
      await this.#client.send(new DeleteObjectCommand({ Bucket: this.#bucket, Key: key }), { abortSignal: AbortSignal.timeout(5000) }).catch(() => {})
      throw bodyError ?? (signal?.aborted === true ? signal.reason : storeError(err))
    } finally {
      signal?.removeEventListener('abort', abort)
    }
  }

  async delete (key: string): Promise<void> {
    try {
      await this.#client.send(new DeleteObjectCommand({ Bucket: this.#bucket, Key: key }))
    } catch (err) {
      throw storeError(err)
    }
  }

  async exists (key: string): Promise<boolean> {
    try {
      await this.#client.send(new HeadObjectCommand({ Bucket: this.#bucket, Key: key }))
      return true
    } catch (err) {
      if ((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return false
      throw storeError(err)
    }
  }

  /**
   * getSignedUrl() runs the whole command middleware stack (about 500 µs a URL). The
   * endpoint of a bucket does not change, so it is resolved once, and each URL is one
   * SigV4 presign of a prepared request (tens of µs). Credentials still come from the
   * client's provider on every call, so rotation (roles, STS) is followed.
   */
  async #presignTarget (): Promise<PresignTarget> {
    this.#target ??= (async () => {
      const probe = new URL(await getSignedUrl(this.#client, new GetObjectCommand({ Bucket: this.#bucket, Key: PROBE_KEY }), { expiresIn: 60 }))
      const region = probe.searchParams.get('X-Amz-Credential')?.split('/')[2]
      if (!probe.pathname.endsWith(`/${PROBE_KEY}`) || region === undefined) throw new Error(`unexpected presigned URL shape: ${probe.origin}${probe.pathname}`)
      return {
        protocol: probe.protocol,
        hostname: probe.hostname,
        port: probe.port === '' ? undefined : Number(probe.port),
        host: probe.host,
        prefix: probe.pathname.slice(0, -PROBE_KEY.length),
        presigner: new S3RequestPresigner({ ...this.#client.config, region: async () => region })
      }
    })()
    this.#target.catch(() => { this.#target = undefined })
    return await this.#target
  }

  async signedUrl (key: string, options: SignedUrlOptions): Promise<string> {
    const target = await this.#presignTarget()
    // A URL must not outlive the credentials that sign it.
    const credentials = await this.#client.config.credentials()
    const left = credentials.expiration === undefined ? Infinity : Math.floor((credentials.expiration.getTime() - Date.now()) / 1000)
    const signed = await target.presigner.presign({
      method: 'GET',
      protocol: target.protocol,
      hostname: target.hostname,
      port: target.port,
      path: target.prefix + key.split('/').map(escapeUri).join('/'),
      query: {
        'response-content-disposition': contentDisposition(options.filename, options.disposition),
        'response-content-type': options.contentType,
        'x-id': 'GetObject'
      },
      headers: { host: target.host }
    }, { expiresIn: Math.max(1, Math.min(options.expiresIn, left)) })
    const query = Object.entries(signed.query ?? {})
      .map(([k, v]) => `${escapeUri(k)}=${escapeUri(String(v))}`)
      .join('&')
    return `${target.protocol}//${target.host}${signed.path}?${query}`
  }

  async ping (): Promise<void> {
    try {
      await this.#client.send(new HeadBucketCommand({ Bucket: this.#bucket }), { abortSignal: AbortSignal.timeout(this.#pingTimeout) })
    } catch (err) {
      throw storeError(err)
    }
  }

  /** The client belongs to the object-store plugin, which destroys it. */
  async close (): Promise<void> {}
}
