// The ObjectStore port: file bytes, streamed in and handed out as short-lived signed URLs.
import type { Readable } from 'node:stream'
import type { Disposition } from '../domain/content-disposition.js'

export interface PutOptions {
  contentType: string
  /**
   * The client's file name. Stores that keep metadata with the object keep this type and an
   * `attachment` disposition with this name, so that a store which ignores a signed URL's
   * overrides still serves a download, never a page.
   */
  filename: string
  /** Aborting cancels the write; nothing of the object remains. */
  signal?: AbortSignal | undefined
}

export interface SignedUrlOptions {
  filename: string
  contentType: string
  disposition: Disposition
  /** Seconds. */
  expiresIn: number
}

export interface ObjectStore {
  /**
   * Streams `body` to `key`. Resolves once the object is complete and durable; if the body
   * errors or the write fails, rejects and leaves no object (and no multipart upload) behind.
   */
  put (key: string, body: Readable, options: PutOptions): Promise<void>
  /** Idempotent: deleting a missing object succeeds. */
  delete (key: string): Promise<void>
  exists (key: string): Promise<boolean>
  /** Up to `limit` keys that start with `prefix` (a folder such as `orphans/`), in key order. */
  list (prefix: string, limit: number): Promise<string[]>
  /** A GET URL that serves the object as a download named `filename`, valid `expiresIn` seconds. */
  signedUrl (key: string, options: SignedUrlOptions): Promise<string>
  /**
   * The origin of the URLs signedUrl hands out (a download page's form redirects there).
   * Known from the configuration: no credentials, no request to the store.
   */
  downloadOrigin (): Promise<string>
  ping (): Promise<void>
  close (): Promise<void>
}

export const objectKey = (fileId: string): string => `files/${fileId}`

/**
 * Where an upload whose record could not be written (nor surely removed: the link store was
 * down) leaves a marker, in the one store that is up: the sweeper removes the record if it
 * landed after all, then the object, then the marker.
 */
export const ORPHANS = 'orphans/'
export const orphanKey = (fileId: string): string => `${ORPHANS}${fileId}`
