// What a new file request (upload link) may be: how long it stays open, how much it takes,
// which types, a password, the owner's message; and which uploads it admits.
import { Type, type Static } from 'typebox'
import { HttpError } from '../errors.js'
import { checkTtl } from './link-policy.js'
import { hashPassword } from './password.js'

/** A media type (`image/png`) or a whole top-level type (`image/*`), as RFC 6838 names them. */
const MEDIA_RANGE = '^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}/(\\*|[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126})$'

/** The most bytes a request may take in all: 1 PiB, a bound on typos, not a policy (quotas are). */
export const MAX_REQUEST_BYTES = 2 ** 50
export const MAX_REQUEST_FILES = 10_000
export const MAX_MESSAGE_LENGTH = 2000

export const RequestOptionsSchema = Type.Object({
  ttl: Type.Integer({ minimum: 1, description: 'Seconds the request stays open (at most LINK_MAX_TTL, as share links)' }),
  maxFiles: Type.Integer({ minimum: 1, maximum: MAX_REQUEST_FILES, description: 'Files it takes at most' }),
  maxBytes: Type.Integer({ minimum: 1, maximum: MAX_REQUEST_BYTES, description: 'Bytes it takes at most, all files together (each file also within MAX_UPLOAD_BYTES)' }),
  allowedTypes: Type.Optional(Type.Array(Type.String({ pattern: MEDIA_RANGE, maxLength: 255 }), {
    minItems: 1,
    maxItems: 50,
    uniqueItems: true,
    description: 'Media types an upload may declare, e.g. ["image/*", "application/pdf"] (the type the uploader declares: no content sniffing); absent: any'
  })),
  password: Type.Optional(Type.String({ minLength: 8, maxLength: 256, description: 'Required to upload; stored only as a scrypt hash' })),
  // Tabs and line breaks, no other control characters: it is shown as text, line by line.
  message: Type.Optional(Type.String({ minLength: 1, maxLength: MAX_MESSAGE_LENGTH, pattern: '^[^\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f]*$', description: 'Shown to the uploader as plain text (never HTML)' }))
}, { additionalProperties: false })

export type RequestOptions = Static<typeof RequestOptionsSchema>

/** What a request takes and until when. */
export interface RequestTerms {
  expiresAt: number
  /** Files it takes at most, and bytes in all. */
  maxFiles: number
  maxBytes: number
  /** Media types (`type/subtype` or `type/*`, lower case) an upload may declare; null: any. */
  allowedTypes: string[] | null
  /** scrypt hash (domain/password); null: no password. */
  passwordHash: string | null
  /** The owner's words to the uploader, shown as text; null: none. */
  message: string | null
}

/** The terms of a new request; a ttl over `maxTtl` (LINK_MAX_TTL) is a 400. */
export async function requestTerms (options: RequestOptions, maxTtl: number, now: number): Promise<RequestTerms> {
  const ttl = checkTtl(options.ttl, { defaultTtl: options.ttl, maxTtl })
  const types = options.allowedTypes?.map((type) => type.toLowerCase())
  return {
    expiresAt: now + ttl * 1000,
    maxFiles: options.maxFiles,
    maxBytes: options.maxBytes,
    allowedTypes: types === undefined ? null : [...new Set(types)],
    passwordHash: options.password === undefined ? null : await hashPassword(options.password),
    message: options.message ?? null
  }
}

/** Whether `contentType` (as normalised, parameters and all) is one of `allowed`; null allows any. */
export function typeAllowed (contentType: string, allowed: readonly string[] | null): boolean {
  if (allowed === null) return true
  const type = (contentType.split(';')[0] ?? '').trim().toLowerCase()
  return allowed.some((range) => range === type || (range.endsWith('/*') && type.startsWith(range.slice(0, -1))))
}

/** The 415 for an upload of a type the request does not take. */
export function typeNotAllowed (allowed: readonly string[]): HttpError {
  return new HttpError(415, 'LG_TYPE_NOT_ALLOWED', `This request takes only files of type ${allowed.join(', ')}`)
}
