// Presigning in isolation, in this process: the gateway's S3ObjectStore.signedUrl (what a
// redemption calls), for a new object each time and for one hot object, against the SDK's
// getSignedUrl, with and without the same response overrides. No request leaves the
// process: signing is local computation.
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3'
import { getSignedUrl } from '@aws-sdk/s3-request-presigner'
// Compiled, this is dist/bench/presign.js importing dist/src/stores/s3-object-store.js.
import { S3ObjectStore } from '../src/stores/s3-object-store.js'
import { contentDisposition } from '../src/domain/content-disposition.js'
import type { BenchS3 } from './infra.js'
import { s3Client } from './upload.js'

export type PresignVariant = 'S3ObjectStore.signedUrl' | 'S3ObjectStore.signedUrl, same object' | 'getSignedUrl, same overrides' | 'getSignedUrl, bare'
export const PRESIGN_VARIANTS: PresignVariant[] = ['S3ObjectStore.signedUrl', 'S3ObjectStore.signedUrl, same object', 'getSignedUrl, same overrides', 'getSignedUrl, bare']

const KEY = 'files/01JBENCHMARK0000000000000'
const FILE = { filename: 'quarterly report – final (v2).pdf', contentType: 'application/pdf', disposition: 'attachment' as const, expiresIn: 60 }

export class Presigner {
  readonly #client: S3Client
  readonly #store: S3ObjectStore
  readonly #bucket: string

  constructor (s3: BenchS3) {
    this.#client = s3Client(s3)
    this.#store = new S3ObjectStore({ client: this.#client, bucket: s3.bucket, maxObjectBytes: 10 * 1024 ** 3 })
    this.#bucket = s3.bucket
  }

  #calls = 0

  async #one (variant: PresignVariant): Promise<string> {
    switch (variant) {
      // A new object each call: every URL is a new signature.
      case 'S3ObjectStore.signedUrl':
        return await this.#store.signedUrl(`${KEY}-${++this.#calls}`, FILE)
      // One hot link: within a second the store hands out the URL it signed (the same bytes).
      case 'S3ObjectStore.signedUrl, same object':
        return await this.#store.signedUrl(KEY, FILE)
      case 'getSignedUrl, same overrides':
        return await getSignedUrl(this.#client, new GetObjectCommand({
          Bucket: this.#bucket,
          Key: KEY,
          ResponseContentDisposition: contentDisposition(FILE.filename, FILE.disposition),
          ResponseContentType: FILE.contentType
        }), { expiresIn: FILE.expiresIn })
      case 'getSignedUrl, bare':
        return await getSignedUrl(this.#client, new GetObjectCommand({ Bucket: this.#bucket, Key: KEY }), { expiresIn: FILE.expiresIn })
    }
  }

  /** Microseconds per URL over up to `n` sequential calls, stopping early after `maxMs`. */
  async measure (variant: PresignVariant, n: number, maxMs: number): Promise<{ usPerUrl: number, calls: number }> {
    const started = process.hrtime.bigint()
    const deadline = started + BigInt(maxMs) * 1_000_000n
    let calls = 0
    while (calls < n) {
      const url = await this.#one(variant)
      if (!url.includes('X-Amz-Signature=')) throw new Error(`${variant}: not a presigned URL: ${url}`)
      calls++
      if ((calls & 255) === 0 && process.hrtime.bigint() > deadline) break
    }
    return { usPerUrl: Number(process.hrtime.bigint() - started) / 1e3 / calls, calls }
  }

  /**
   * Whether the store's URL is the SDK's for the same request: path and query compared
   * with their parameters sorted, signing time and signature aside unless both agree.
   */
  async compare (): Promise<string> {
    const norm = (href: string, skip: string[]): string => {
      const url = new URL(href)
      const params = [...url.searchParams].filter(([k]) => !skip.includes(k)).sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0)
      return `${url.origin}${url.pathname}?${new URLSearchParams(params).toString()}`
    }
    const store = await this.#one('S3ObjectStore.signedUrl, same object')
    const sdk = await this.#one('getSignedUrl, same overrides')
    if (norm(store, []) === norm(sdk, [])) return 'identical to getSignedUrl\'s for the same request'
    const timeless = ['X-Amz-Date', 'X-Amz-Signature']
    if (norm(store, timeless) === norm(sdk, timeless)) return 'the same as getSignedUrl\'s for the same request but for X-Amz-Date and X-Amz-Signature (signed in another second)'
    return `DIFFERENT from getSignedUrl's for the same request:\n  store: ${norm(store, timeless)}\n  sdk:   ${norm(sdk, timeless)}`
  }

  close (): void {
    this.#client.destroy()
  }
}
