// Share tokens are bearer secrets: random, URL-safe, and only ever stored as a hash.
import { hash, randomBytes } from 'node:crypto'

const TOKEN_BYTES = 16
/** 16 random bytes in unpadded base64url are exactly 22 characters. */
export const TOKEN_PATTERN = '^[A-Za-z0-9_-]{22}$'
const TOKEN_RE = new RegExp(TOKEN_PATTERN)

export function newToken (): string {
  return randomBytes(TOKEN_BYTES).toString('base64url')
}

export function isWellFormedToken (value: string): boolean {
  return TOKEN_RE.test(value)
}

/**
 * The token hash is what the link store keys links by. A plain SHA-256 is enough:
 * the token has 128 bits of entropy, so there is nothing to brute-force.
 */
export function hashToken (token: string): string {
  // One-shot crypto.hash: no Hash object per redemption.
  return hash('sha256', token, 'base64url')
}

/** Personal API tokens say what they are, so that secret scanners and people recognise them. */
export const PERSONAL_TOKEN_PREFIX = 'lgp_'

/** A personal API token: the prefix and 32 random bytes (256 bits), shown once, stored hashed (hashToken). */
export function newPersonalToken (): string {
  return PERSONAL_TOKEN_PREFIX + randomBytes(32).toString('base64url')
}
