// Production UploadStore: @tus/s3-store. Each upload is an S3 multipart upload of the file's
// own object key (files/<id>), so a finished upload is the file's object, with no copy. The
// store's own state (the upload's info, and the tail of a PATCH too short to be a part) lives
// under uploads/ in the bucket, and the info is read through `cache` (Redis, so that every
// instance sees the same upload; memory without Redis). It shares the gateway's S3 client.
import { S3Store, type MetadataValue } from '@tus/s3-store'
import type { S3 } from '@aws-sdk/client-s3'
import { ERRORS, TUS_RESUMABLE, Upload, type KvStore } from '@tus/utils'
import type { Readable } from 'node:stream'
import { contentDisposition } from '../domain/content-disposition.js'
import { fileIdOf, type UploadStore } from './upload-store.js'

export interface S3UploadStoreOptions {
  client: S3
  bucket: string
  /** Milliseconds an upload may take from its creation (UPLOAD_EXPIRY). */
  expiry: number
  /** Where the upload's info is read from first; memory when unset. */
  cache?: KvStore<MetadataValue> | undefined
}

const STATE = 'uploads/'

function isNotFound (err: unknown): boolean {
  const { name, $metadata } = err as { name?: string, $metadata?: { httpStatusCode?: number } }
  return name === 'NoSuchKey' || name === 'NoSuchUpload' || name === 'NotFound' || $metadata?.httpStatusCode === 404
}

export class S3UploadStore extends S3Store implements UploadStore {
  constructor ({ client, bucket, expiry, cache }: S3UploadStoreOptions) {
    // No object tags: not every S3-compatible store has them (R2); the sweeper expires uploads.
    super({ s3ClientConfig: { bucket }, cache, expirationPeriodInMilliseconds: expiry, useTags: false })
    // The gateway's client (its settings, its metrics) instead of the one the store made.
    this.client.destroy()
    this.client = client
  }

  protected override infoKey (id: string): string {
    return `${STATE}${fileIdOf(id) ?? '-'}.info`
  }

  protected override partKey (id: string, isIncomplete = false): string {
    return isIncomplete ? `${STATE}${fileIdOf(id) ?? '-'}.part` : id
  }

  /** As @tus/s3-store's, and the object gets the type and an attachment disposition (see PutOptions.filename). */
  override async create (upload: Upload): Promise<Upload> {
    const { filetype, filename } = upload.metadata ?? {}
    upload.creation_date = new Date().toISOString()
    const created = await this.client.createMultipartUpload({
      Bucket: this.bucket,
      Key: upload.id,
      Metadata: { 'tus-version': TUS_RESUMABLE },
      ContentType: filetype ?? 'application/octet-stream',
      ContentDisposition: contentDisposition(filename ?? 'upload', 'attachment')
    })
    upload.storage = { type: 's3', path: upload.id, bucket: this.bucket }
    await this.saveMetadata(upload, created.UploadId ?? '')
    return upload
  }

  /** As @tus/s3-store's, and the info is read anew: a cache that keeps copies (Redis) would keep the old length. */
  override async declareUploadLength (id: string, length: number): Promise<void> {
    await super.declareUploadLength(id, length)
    await this.clearCache(id)
  }

  async infoOf (id: string): Promise<Upload | null> {
    try {
      return (await this.getMetadata(id)).file
    } catch (err) {
      if (isNotFound(err)) return null
      throw err
    }
  }

  async open (id: string): Promise<Readable> {
    return await this.read(id)
  }

  async forget (id: string): Promise<void> {
    await this.client.deleteObjects({ Bucket: this.bucket, Delete: { Objects: [{ Key: this.infoKey(id) }, { Key: this.partKey(id, true) }] } })
    await this.clearCache(id)
  }

  /** By the upload's info objects: finished uploads have no multipart upload left to list. */
  async expired (now: number): Promise<Upload[]> {
    const uploads: Upload[] = []
    let ContinuationToken: string | undefined
    do {
      const listed = await this.client.listObjectsV2({ Bucket: this.bucket, Prefix: STATE, ContinuationToken })
      for (const { Key, LastModified } of listed.Contents ?? []) {
        if (Key?.endsWith('.info') !== true || LastModified === undefined) continue
        const id = `files/${Key.slice(STATE.length, -'.info'.length)}`
        if (fileIdOf(id) === null || LastModified.getTime() + this.getExpiration() > now) continue
        // Removed since the listing: nothing left to expire.
        const file = await this.getMetadata(id).then(({ file }) => file, (err: unknown) => { if (isNotFound(err)) return null; throw err })
        if (file !== null && new Date(file.creation_date ?? 0).getTime() + this.getExpiration() <= now) uploads.push(file)
      }
      ContinuationToken = listed.IsTruncated === true ? listed.NextContinuationToken : undefined
    } while (ContinuationToken !== undefined)
    return uploads
  }

  /** Removes what is left of the expired uploads, finished or not (the sweeper forgets the recorded ones first). */
  override async deleteExpired (): Promise<number> {
    const expired = await this.expired(Date.now())
    for (const upload of expired) await this.remove(upload.id)
    return expired.length
  }

  /**
   * Aborts the multipart upload (gone already if it finished) and deletes the object, the info
   * and the incomplete part: @tus/s3-store's remove leaves the last, and stops at a finished upload.
   */
  override async remove (id: string): Promise<void> {
    let uploadId: string
    try {
      uploadId = (await this.getMetadata(id))['upload-id']
    } catch (err) {
      throw isNotFound(err) ? ERRORS.FILE_NOT_FOUND : err
    }
    await this.client.abortMultipartUpload({ Bucket: this.bucket, Key: id, UploadId: uploadId }).catch((err: unknown) => {
      if (!isNotFound(err)) throw err
    })
    await this.client.deleteObjects({ Bucket: this.bucket, Delete: { Objects: [{ Key: id }, { Key: this.infoKey(id) }, { Key: this.partKey(id, true) }] } })
    await this.clearCache(id)
  }
}
