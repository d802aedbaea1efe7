// Production ObjectStore on S3 (or an S3-compatible store). Uploads stream through
// lib-storage's multipart Upload with a bounded part size and queue, so memory per
// upload is about (queueSize + 1) × partSize whatever the file size.
import { DeleteObjectCommand, GetObjectCommand, HeadBucketCommand, HeadObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3'
import { Upload } from '@aws-sdk/lib-storage'
import { getSignedUrl } from '@aws-sdk/s3-request-presigner'
import type { Readable } from 'node:stream'
import { contentDisposition } from '../domain/content-disposition.js'
import { HttpError, badGateway, unavailable } from '../errors.js'
import type { ObjectStore, PutOptions, SignedUrlOptions } from './object-store.js'
import { S3GetPresigner, escapeUri } from './sigv4.js'

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
  /** The clock signed URLs are dated by (ms); tests set it. */
  now?: () => number
  /**
   * Where signed URLs send clients when it is not where the client talks to the store
   * (S3_PUBLIC_ENDPOINT: the gateway reaches `http://minio:9000`, browsers `http://localhost:9000`).
   * The URLs are signed for this host, since SigV4 signs the host.
   */
  publicEndpoint?: string | undefined
}

/** Where GETs of this bucket go, found once by presigning a probe the SDK's slow way (see #presignTarget). */
interface PresignTarget {
  /** `https://host[:port]` */
  origin: string
  host: string
  /** The path before the key: `/` (virtual-hosted) or `/<bucket>/` (path-style). */
  prefix: string
  presigner: S3GetPresigner
}

const PROBE_KEY = 'linkgate-presign-probe'
/** The probe is read for its shape and never sent: any credentials sign it. */
const PROBE_CREDENTIALS = { accessKeyId: 'linkgate-probe', secretAccessKey: 'linkgate-probe' }

type Credentials = Awaited<ReturnType<S3Client['config']['credentials']>>
/** Objects whose URL is kept for the rest of the second, at most (then the memo starts over). */
const SIGNED_MAX = 10_000

/** A URL signed this second, and what it was signed for. */
interface Signed extends SignedUrlOptions {
  url: string
}

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
  readonly #now: () => number
  readonly #publicEndpoint: string | undefined
  #target: Promise<PresignTarget> | undefined
  /**
   * The URLs signed this second, by object key: within a second the same request signs to
   * the same bytes (docs/decisions/0005-signed-url-memo.md).
   */
  #signed: { second: number, credentials: Credentials, byKey: Map<string, Signed> } | undefined

  constructor (options: S3ObjectStoreOptions) {
    this.#client = options.client
    this.#bucket = options.bucket
    // 6 MiB parts (more when 10,000 parts need it), 2 in flight: docs/decisions/0006-upload-part-size-and-queue.md
    this.#partSize = Math.max(6 * MiB, Math.ceil(options.maxObjectBytes / MAX_PARTS))
    this.#queueSize = options.queueSize ?? 2
    this.#pingTimeout = options.pingTimeout ?? 2000
    this.#now = options.now ?? Date.now
    this.#publicEndpoint = options.publicEndpoint
  }

  async put (key: string, body: Readable, { contentType, filename, signal }: PutOptions): Promise<void> {
    // The body's own error (too large, client gone) is the one to report, not the
    // follow-up failure of lib-storage's abort.
    let bodyError: unknown
    body.once('error', (err) => { bodyError ??= err })
    const upload = new Upload({
      client: this.#client,
      // The object's own headers: what a store that ignores the signed URL's overrides serves.
      params: { Bucket: this.#bucket, Key: key, Body: body, ContentType: contentType, ContentDisposition: contentDisposition(filename, 'attachment') },
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

  async list (prefix: string, limit: number): Promise<string[]> {
    try {
      // One page (up to 1,000 keys), cut to `limit`: s3rver fails a truncated listing (a
      // MaxKeys below the count), and the sweeper asks again next pass anyway.
      const listed = await this.#client.send(new ListObjectsV2Command({ Bucket: this.#bucket, Prefix: prefix }))
      return (listed.Contents ?? []).flatMap((object) => object.Key === undefined ? [] : [object.Key]).slice(0, limit)
    } catch (err) {
      throw storeError(err)
    }
  }

  /**
   * Where this bucket's URLs go, found once from a probe the SDK presigns, so that each URL
   * is one signature: docs/decisions/0001-hand-written-sigv4-presigner.md. The probe
   * is presigned by a client of its own: the same endpoint settings (or the public
   * endpoint), and made-up credentials, so that finding the target needs neither the real
   * ones nor a request.
   */
  async #presignTarget (): Promise<PresignTarget> {
    this.#target ??= (async () => {
      const { config } = this.#client
      const prober = new S3Client({
        region: config.region,
        endpoint: this.#publicEndpoint ?? config.endpoint,
        forcePathStyle: config.forcePathStyle,
        useAccelerateEndpoint: config.useAccelerateEndpoint,
        useDualstackEndpoint: config.useDualstackEndpoint,
        useFipsEndpoint: config.useFipsEndpoint,
        credentials: PROBE_CREDENTIALS
      })
      try {
        const probe = new URL(await getSignedUrl(prober, new GetObjectCommand({ Bucket: this.#bucket, Key: PROBE_KEY }), { expiresIn: 60 }))
        const region = probe.searchParams.get('X-Amz-Credential')?.split('/')[2]
        if (!probe.pathname.endsWith(`/${PROBE_KEY}`) || region === undefined) throw new Error(`unexpected presigned URL shape: ${probe.origin}${probe.pathname}`)
        return { origin: probe.origin, host: probe.host, prefix: probe.pathname.slice(0, -PROBE_KEY.length), presigner: new S3GetPresigner(region) }
      } finally {
        prober.destroy()
      }
    })()
    this.#target.catch(() => { this.#target = undefined })
    return await this.#target
  }

  async downloadOrigin (): Promise<string> {
    return (await this.#presignTarget()).origin
  }

  async signedUrl (key: string, options: SignedUrlOptions): Promise<string> {
    const target = await this.#presignTarget()
    // From the client's provider on every call (it caches and refreshes them), so that
    // rotated credentials (roles, STS) sign as soon as the SDK has them; none (yet) is a 503.
    let credentials: Credentials
    try {
      credentials = await this.#client.config.credentials()
    } catch (err) {
      throw unavailable('object store (no credentials to sign with)', err)
    }
    const now = this.#now()
    // A URL must not outlive the credentials that sign it.
    const left = credentials.expiration === undefined ? Infinity : Math.floor((credentials.expiration.getTime() - now) / 1000)
    if (left < 1) throw unavailable('object store (its credentials have expired)')
    const expiresIn = Math.min(options.expiresIn, left)
    const second = Math.floor(now / 1000)
    if (this.#signed?.second !== second || this.#signed.credentials !== credentials) this.#signed = { second, credentials, byKey: new Map() }
    const { byKey } = this.#signed
    const kept = byKey.get(key)
    if (kept !== undefined && kept.expiresIn === expiresIn && kept.filename === options.filename &&
      kept.contentType === options.contentType && kept.disposition === options.disposition) return kept.url
    const path = target.prefix + key.split('/').map(escapeUri).join('/')
    const query = target.presigner.presign(credentials, {
      host: target.host,
      path,
      query: {
        'response-content-disposition': contentDisposition(options.filename, options.disposition),
        'response-content-type': options.contentType,
        // As the SDK's own URLs have it, so that the two can be compared byte for byte.
        'x-id': 'GetObject'
      },
      expiresIn,
      now
    })
    const url = `${target.origin}${path}?${query}`
    // Full (a flood of distinct objects): start over, so that a hot link gets back in at once.
    if (kept === undefined && byKey.size >= SIGNED_MAX) byKey.clear()
    byKey.set(key, { ...options, expiresIn, url })
    return url
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
