// Non-secret identifiers for files and links: time-ordered, so listings page by id.
import { randomBytes } from 'node:crypto'

// Crockford's base32 keeps ids lowercase, unambiguous and lexicographically time-ordered.
const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz'
export const ID_PATTERN = '^[0-9a-hjkmnp-tv-z]{26}$'

/** A ULID-shaped id: 48 bits of milliseconds then 80 random bits, as 26 base32 characters. */
export function newId (now = Date.now()): string {
  const bytes = Buffer.alloc(16)
  bytes.writeUIntBE(now, 0, 6)
  randomBytes(10).copy(bytes, 6)
  let value = BigInt('0x' + bytes.toString('hex'))
  let out = ''
  for (let i = 0; i < 26; i++) {
    out = ALPHABET[Number(value & 31n)] + out
    value >>= 5n
  }
  return out
}
