// Wires the UploadStore of resumable (tus) uploads: S3 when S3_BUCKET is set (the object
// store's client; the uploads' info in Redis when there is one, so that any instance resumes
// any upload), a directory under DATA_DIR otherwise; and the lock that keeps one request at a
// time on an upload: in Redis across instances, in memory for a single one.
import { MemoryLocker } from '@tus/server'
import type { Locker } from '@tus/utils'
import fp from 'fastify-plugin'
import { resolve } from 'node:path'
import { LocalUploadStore } from '../src/stores/local-upload-store.js'
import { RedisUploadInfo, RedisUploadLocker } from '../src/stores/redis-upload-state.js'
import { S3UploadStore } from '../src/stores/s3-upload-store.js'
import type { UploadStore } from '../src/stores/upload-store.js'

declare module 'fastify' {
  interface FastifyInstance {
    uploadStore: UploadStore
    uploadLocker: Locker
  }
}

/** How long an upload's info stays in Redis past its expiry: the sweeper removes it before. */
const INFO_GRACE_MS = 24 * 3600 * 1000

export default fp(async function uploadStorePlugin (fastify) {
  const { config: { s3, dataDir, uploadExpiry }, redis, s3Client } = fastify
  const expiry = uploadExpiry * 1000
  const store: UploadStore = s3 === null || s3Client === null
    ? new LocalUploadStore({ dir: resolve(dataDir), expiry })
    : new S3UploadStore({ client: s3Client, bucket: s3.bucket, expiry, cache: redis === null ? undefined : new RedisUploadInfo(redis, expiry + INFO_GRACE_MS) })
  fastify.decorate('uploadStore', store)
  const locker: Locker = redis === null ? new MemoryLocker() : new RedisUploadLocker(redis)
  fastify.decorate('uploadLocker', locker)
}, { name: 'upload-store', dependencies: ['redis', 'object-store'] })
