// Link passwords: stored only as a salted scrypt hash, compared in constant time.
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto'

// N=2^15, r=8: about 32 MiB and a few tens of milliseconds per guess.
const PARAMS = { N: 32768, r: 8, p: 1 }
const KEY_LENGTH = 32

async function derive (password: string, salt: Buffer, options: ScryptOptions): Promise<Buffer> {
  return await new Promise((resolve, reject) => {
    scrypt(password.normalize('NFC'), salt, KEY_LENGTH, { ...options, maxmem: 64 * 1024 * 1024 }, (err, key) => {
      if (err !== null) reject(err)
      else resolve(key)
    })
  })
}

/** `scrypt$N$r$p$<salt>$<hash>`, base64url; the parameters travel with the hash. */
export async function hashPassword (password: string): Promise<string> {
  const salt = randomBytes(16)
  const key = await derive(password, salt, PARAMS)
  return ['scrypt', PARAMS.N, PARAMS.r, PARAMS.p, salt.toString('base64url'), key.toString('base64url')].join('$')
}

/** False for a wrong password and for a stored value that is not one of our hashes. */
export async function verifyPassword (password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$')
  const [scheme, N, r, p, salt, hash] = parts
  // Only the parameters we write: a corrupted record must not cost 1 GiB of memory or a crash.
  if (parts.length !== 6 || scheme !== 'scrypt' || Number(N) !== PARAMS.N || Number(r) !== PARAMS.r || Number(p) !== PARAMS.p ||
    salt === undefined || hash === undefined) return false
  const expected = Buffer.from(hash, 'base64url')
  const key = await derive(password, Buffer.from(salt, 'base64url'), PARAMS)
  return key.length === expected.length && timingSafeEqual(key, expected)
}
