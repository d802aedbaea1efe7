import t from 'tap'
import { scryptSync } from 'node:crypto'
import { hashPassword, verifyPassword } from '../../src/domain/password.js'

const FORMAT = /^scrypt\$32768\$8\$1\$([A-Za-z0-9_-]{22})\$([A-Za-z0-9_-]{43})$/

t.test('the hash is scrypt$32768$8$1$<salt>$<hash>, base64url', async (t) => {
  const stored = await hashPassword('correct horse battery staple')
  const m = FORMAT.exec(stored)
  t.ok(m, stored)
  const [, salt = '', hash = ''] = m ?? []
  t.equal(Buffer.from(salt, 'base64url').length, 16, '16-byte salt')
  t.equal(Buffer.from(hash, 'base64url').length, 32, '32-byte key')
  // The hash is what the documented parameters give, so other tools can check it.
  const expected = scryptSync('correct horse battery staple', Buffer.from(salt, 'base64url'), 32, { N: 32768, r: 8, p: 1, maxmem: 64 * 1024 * 1024 })
  t.equal(hash, expected.toString('base64url'))
  t.notMatch(stored, 'correct horse', 'the password is not in the hash')
})

t.test('verify: the right password, wrong ones, the empty one', async (t) => {
  const stored = await hashPassword('correct horse battery staple')
  t.equal(await verifyPassword('correct horse battery staple', stored), true)
  t.equal(await verifyPassword('correct horse battery stapl', stored), false)
  t.equal(await verifyPassword('correct horse battery staple ', stored), false)
  t.equal(await verifyPassword('Correct horse battery staple', stored), false)
  t.equal(await verifyPassword('', stored), false)
})

t.test('the empty password round-trips like any other', async (t) => {
  const stored = await hashPassword('')
  t.match(stored, FORMAT)
  t.equal(await verifyPassword('', stored), true)
  t.equal(await verifyPassword(' ', stored), false)
})

t.test('the same password gets a different salt, and both hashes verify', async (t) => {
  const a = await hashPassword('hunter22')
  const b = await hashPassword('hunter22')
  t.not(a, b)
  t.not(a.split('$')[4], b.split('$')[4], 'different salts')
  t.not(a.split('$')[5], b.split('$')[5], 'different keys')
  t.equal(await verifyPassword('hunter22', a), true)
  t.equal(await verifyPassword('hunter22', b), true)
})

t.test('NFC and NFD spellings of a password are the same password', async (t) => {
  const nfc = 'caf\u00e9'
  const nfd = 'cafe\u0301'
  t.not(nfc, nfd, 'the inputs do differ')
  t.equal(nfc.normalize('NFD'), nfd)
  const fromNfc = await hashPassword(nfc)
  const fromNfd = await hashPassword(nfd)
  t.equal(await verifyPassword(nfd, fromNfc), true, 'hashed NFC, verified NFD')
  t.equal(await verifyPassword(nfc, fromNfd), true, 'hashed NFD, verified NFC')
  t.equal(await verifyPassword(nfc, fromNfc), true)
  t.equal(await verifyPassword('cafe', fromNfc), false)
})

t.test('the parameters stored with the hash are the ones used', async (t) => {
  const stored = await hashPassword('pa55word!')
  const [scheme, , r, p, salt, hash] = stored.split('$')
  const weaker = [scheme, 16384, r, p, salt, hash].join('$')
  t.equal(await verifyPassword('pa55word!', weaker), false, 'changing N changes the key')
})

t.test('a tampered hash or salt does not verify', async (t) => {
  const stored = await hashPassword('pa55word!')
  const parts = stored.split('$')
  const flip = (s: string): string => (s[0] === 'A' ? 'B' : 'A') + s.slice(1)
  t.equal(await verifyPassword('pa55word!', [...parts.slice(0, 4), flip(parts[4] ?? ''), parts[5]].join('$')), false, 'salt')
  t.equal(await verifyPassword('pa55word!', [...parts.slice(0, 5), flip(parts[5] ?? '')].join('$')), false, 'hash')
  t.equal(await verifyPassword('pa55word!', [...parts.slice(0, 5), (parts[5] ?? '').slice(0, -2)].join('$')), false, 'short hash')
})

t.test('malformed stored strings without usable parameters return false', async (t) => {
  const cases = [
    '',
    'scrypt',
    'scrypt$32768$8$1',
    'scrypt$32768$8$1$c2FsdA',
    'bcrypt$32768$8$1$c2FsdA$aGFzaA',
    'SCRYPT$32768$8$1$c2FsdA$aGFzaA',
    '$2b$10$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234',
    'scrypt$32768$8$1$c2FsdA$aGFzaA',
    'scrypt$32768$8$1$!!!$???',
    'scrypt$$$$$',
    'not a hash at all'
  ]
  for (const stored of cases) t.equal(await verifyPassword('password', stored), false, JSON.stringify(stored))
})

// The store only ever holds what hashPassword wrote, but a corrupted record must be a
// wrong password (403), not an exception (500).
t.test('malformed scrypt parameters return false rather than throw', async (t) => {
  const cases = [
    'scrypt$abc$8$1$c2FsdA$aGFzaA', // N not a number
    'scrypt$-1$8$1$c2FsdA$aGFzaA', // N negative
    'scrypt$3$8$1$c2FsdA$aGFzaA', // N not a power of two
    'scrypt$1073741824$8$1$c2FsdA$aGFzaA' // N beyond maxmem
  ]
  for (const stored of cases) {
    let result: unknown
    try {
      result = await verifyPassword('password', stored)
    } catch (err) {
      result = err
    }
    t.equal(result, false, JSON.stringify(stored))
  }
})
