// What a resumable (tus) upload's Upload-Metadata may say: the file's name and type, and the
// options POST /v1/files takes in its query string. Every key is checked at creation, before
// a byte is stored: an unknown key or a bad value is a 400, never silently dropped.
import { badRequest } from '../errors.js'
import { normaliseContentType } from './content-type.js'
import { cleanFilename } from './filename.js'

/** What the upload asks for, checked. */
export interface UploadOptions {
  filename: string
  contentType: string
  share: boolean
  ttl?: number | undefined
  maxDownloads?: number | undefined
  retention?: number | undefined
}

/** The integers, with the ranges of POST /v1/files' query string. */
const INTEGERS = {
  ttl: { max: Number.MAX_SAFE_INTEGER },
  maxDownloads: { max: 1_000_000 },
  retention: { max: 315_360_000 }
} as const

/**
 * Keys Uppy sends of its own (every file's meta by default): `name` and `type` stand for
 * `filename` and `filetype` when those are missing, `relativePath` is ignored.
 */
const UPPY_KEYS = new Set(['name', 'type', 'relativePath'])
const KEYS = new Set(['filename', 'filetype', 'share', ...Object.keys(INTEGERS), ...UPPY_KEYS])

function integer (key: keyof typeof INTEGERS, value: string | null | undefined): number | undefined {
  if (value === undefined) return undefined
  const n = /^[1-9][0-9]{0,15}$/.test(value ?? '') ? Number(value) : NaN
  if (!(n <= INTEGERS[key].max)) throw badRequest('LG_BAD_METADATA', `Upload-Metadata ${key} must be a whole number from 1 to ${INTEGERS[key].max}`)
  return n
}

/** Reads tus metadata (keys to decoded values, null for a key without one); throws a 400. */
export function uploadOptions (metadata: Record<string, string | null> = {}): UploadOptions {
  const unknown = Object.keys(metadata).filter((key) => !KEYS.has(key))
  if (unknown.length > 0) {
    throw badRequest('LG_BAD_METADATA', `Unknown Upload-Metadata key${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}: use filename, filetype, share, ttl, maxDownloads or retention (or Uppy's name, type and relativePath)`)
  }
  const { share = 'false' } = metadata
  if (share !== 'true' && share !== 'false') throw badRequest('LG_BAD_METADATA', 'Upload-Metadata share must be true or false')
  return {
    filename: cleanFilename(metadata.filename ?? metadata.name ?? undefined),
    contentType: normaliseContentType(metadata.filetype ?? metadata.type ?? undefined),
    share: share === 'true',
    ttl: integer('ttl', metadata.ttl),
    maxDownloads: integer('maxDownloads', metadata.maxDownloads),
    retention: integer('retention', metadata.retention)
  }
}
