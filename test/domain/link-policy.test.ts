import t from 'tap'
import { HttpError } from '../../src/errors.js'
import { linkTerms, type LinkLimits } from '../../src/domain/link-policy.js'
import { verifyPassword } from '../../src/domain/password.js'

const limits: LinkLimits = { defaultTtl: 3600, maxTtl: 86_400, allowActiveInline: false }
const now = 1_700_000_000_000
const TEXT = 'text/plain'

t.test('no options: default ttl, unlimited downloads, public, no password, attachment', async (t) => {
  const expected = { expiresAt: now + 3600 * 1000, maxDownloads: null, access: 'public', passwordHash: null, disposition: 'attachment' }
  t.same(await linkTerms({}, limits, TEXT, now), expected)
  t.same(await linkTerms({ ttl: undefined, maxDownloads: undefined, access: undefined, password: undefined, disposition: undefined }, limits, TEXT, now), expected)
})

t.test('an explicit ttl is seconds from now', async (t) => {
  t.equal((await linkTerms({ ttl: 1 }, limits, TEXT, now)).expiresAt, now + 1000)
  t.equal((await linkTerms({ ttl: 120 }, limits, TEXT, now)).expiresAt, now + 120_000)
  t.equal((await linkTerms({ ttl: 120 }, limits, TEXT, 0)).expiresAt, 120_000, 'relative to the now given')
})

t.test('ttl equal to the maximum is allowed', async (t) => {
  t.equal((await linkTerms({ ttl: 86_400 }, limits, TEXT, now)).expiresAt, now + 86_400_000)
})

t.test('ttl above the maximum is a 400 LG_TTL_TOO_LONG', async (t) => {
  await t.rejects(linkTerms({ ttl: 86_401 }, limits, TEXT, now), { statusCode: 400, code: 'LG_TTL_TOO_LONG', message: /86400/ })
  const err = await linkTerms({ ttl: 10 ** 9 }, limits, TEXT, now).then(() => null, (e: unknown) => e)
  t.type(err, HttpError)
})

t.test('a default above the maximum is refused too', async (t) => {
  const tight = { ...limits, defaultTtl: 100, maxTtl: 50 }
  await t.rejects(linkTerms({}, tight, TEXT, now), { statusCode: 400, code: 'LG_TTL_TOO_LONG' })
  t.equal((await linkTerms({ ttl: 50 }, tight, TEXT, now)).expiresAt, now + 50_000)
})

t.test('maxDownloads and access pass through', async (t) => {
  t.equal((await linkTerms({ maxDownloads: 1 }, limits, TEXT, now)).maxDownloads, 1)
  t.equal((await linkTerms({ maxDownloads: 1_000_000 }, limits, TEXT, now)).maxDownloads, 1_000_000)
  t.equal((await linkTerms({ access: 'authenticated' }, limits, TEXT, now)).access, 'authenticated')
  t.same((await linkTerms({ access: { subjects: ['bob', 'carol'] } }, limits, TEXT, now)).access, { subjects: ['bob', 'carol'] })
})

t.test('a password is stored only as a verifiable hash', async (t) => {
  const { passwordHash } = await linkTerms({ password: 'correct horse' }, limits, TEXT, now)
  if (passwordHash === null) throw new Error('expected a password hash')
  t.not(passwordHash, 'correct horse')
  t.notMatch(passwordHash, /correct horse/)
  t.ok(await verifyPassword('correct horse', passwordHash))
  t.notOk(await verifyPassword('wrong horse', passwordHash))
})

t.test('inline is honoured for passive types and downgraded for active ones', async (t) => {
  t.equal((await linkTerms({ disposition: 'inline' }, limits, 'image/png', now)).disposition, 'inline')
  t.equal((await linkTerms({ disposition: 'inline' }, limits, 'text/plain; charset=utf-8', now)).disposition, 'inline')
  for (const type of ['text/html', 'TEXT/HTML; charset=utf-8', 'image/svg+xml', 'application/xhtml+xml', 'application/xml', 'text/xml']) {
    t.equal((await linkTerms({ disposition: 'inline' }, limits, type, now)).disposition, 'attachment', type)
  }
  t.equal((await linkTerms({ disposition: 'inline' }, { ...limits, allowActiveInline: true }, 'text/html', now)).disposition, 'inline', 'unless allowed')
  t.equal((await linkTerms({ disposition: 'attachment' }, limits, 'image/png', now)).disposition, 'attachment')
})
