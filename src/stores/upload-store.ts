// The resumable uploads' store (tus): a @tus DataStore that writes an upload's bytes where
// its file's object will be (an upload's id is its object key, files/<fileId>), and keeps
// the upload's state where every instance finds it. Adapters: S3 (@tus/s3-store, state in
// Redis or the bucket) and a local directory (@tus/file-store).
import type { DataStore, Upload } from '@tus/utils'
import type { Readable } from 'node:stream'
import { ID_PATTERN } from '../domain/ids.js'
import { objectKey } from './object-store.js'

export interface UploadStore extends DataStore {
  /** Upload `id` as created (its metadata: the owner and quota the gateway set); null: no such upload. Its offset is not kept up to date. */
  infoOf: (id: string) => Promise<Upload | null>
  /** A finished upload's bytes, from the store. */
  open: (id: string) => Promise<Readable>
  /** Drops the state of a finished upload whose file is recorded: the object stays, as the file's. */
  forget: (id: string) => Promise<void>
  /** The uploads, finished or not, whose state is older than the expiry at `now`. */
  expired: (now: number) => Promise<Upload[]>
}

const FILE_ID = new RegExp(ID_PATTERN)

/** The upload of file `fileId`, as the stores name it. */
export const uploadIdOf = (fileId: string): string => objectKey(fileId)

/** The file id of an upload id; null for anything that is not one. */
export function fileIdOf (uploadId: string): string | null {
  const fileId = uploadId.startsWith('files/') ? uploadId.slice('files/'.length) : ''
  return FILE_ID.test(fileId) ? fileId : null
}

/** Metadata keys set by the gateway at creation, never by a client: the upload's owner, and what it reserved of the owner's quota. */
export const OWNER = 'owner'
export const QUOTA_BYTES = 'quotaBytes'
export const QUOTA_FILES = 'quotaFiles'

/** What an upload's creation reserved of its owner's quota (bytes, files). */
export function reservedBy (upload: Upload): { bytes: number, files: number } {
  return { bytes: Number(upload.metadata?.[QUOTA_BYTES] ?? 0), files: Number(upload.metadata?.[QUOTA_FILES] ?? 0) }
}
