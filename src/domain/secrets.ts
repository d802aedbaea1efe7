// Small pieces of secret handling shared by the gateway's own signatures.
import { createHmac, timingSafeEqual } from 'node:crypto'

/** A key for one purpose, derived from JWT_SECRET, so that every instance agrees on it. */
export function deriveKey (secret: string, purpose: string): Buffer {
  return createHmac('sha256', secret).update(`linkgate ${purpose}`).digest()
}

/** Constant-time equality of two MACs (their lengths are public). */
export function sameMac (given: string, expected: string): boolean {
  const a = Buffer.from(given)
  const b = Buffer.from(expected)
  return a.length === b.length && timingSafeEqual(a, b)
}
