import { Ajv } from 'ajv'
import t from 'tap'
import { verifyPassword } from '../../src/domain/password.js'
import { requestTerms, typeAllowed, typeNotAllowed, RequestOptionsSchema } from '../../src/domain/request-policy.js'

const now = 1_700_000_000_000
const base = { ttl: 3600, maxFiles: 2, maxBytes: 10 * 1024 * 1024 }

t.test('the least a request says: its lifetime and caps; any type, no password, no message', async (t) => {
  t.same(await requestTerms(base, 86_400, now), {
    expiresAt: now + 3600_000, maxFiles: 2, maxBytes: 10 * 1024 * 1024, allowedTypes: null, passwordHash: null, message: null
  })
})

t.test('ttl: at most maxTtl (LINK_MAX_TTL), else a 400 LG_TTL_TOO_LONG', async (t) => {
  t.equal((await requestTerms({ ...base, ttl: 86_400 }, 86_400, now)).expiresAt, now + 86_400_000)
  await t.rejects(requestTerms({ ...base, ttl: 86_401 }, 86_400, now), { statusCode: 400, code: 'LG_TTL_TOO_LONG', message: /86400 seconds \(LINK_MAX_TTL\)/ })
})

t.test('allowed types are kept in lower case, once each; the password only as a scrypt hash', async (t) => {
  const terms = await requestTerms({ ...base, allowedTypes: ['Image/*', 'application/PDF', 'image/*'], password: 'correct horse', message: 'Hi <b>' }, 86_400, now)
  t.same(terms.allowedTypes, ['image/*', 'application/pdf'])
  t.match(terms.passwordHash, /^scrypt\$/)
  t.ok(await verifyPassword('correct horse', terms.passwordHash ?? ''))
  t.equal(terms.message, 'Hi <b>', 'the message as written: pages escape it')
})

t.test('typeAllowed: exact types and type/*, parameters and case ignored; null takes anything', async (t) => {
  const allowed = ['image/*', 'application/pdf']
  for (const type of ['image/png', 'IMAGE/JPEG', 'application/pdf', 'application/pdf; charset=binary', 'image/svg+xml']) t.ok(typeAllowed(type, allowed), type)
  for (const type of ['application/pdfx', 'text/plain', 'application/octet-stream', 'imagex/png', 'video/image']) t.notOk(typeAllowed(type, allowed), type)
  t.ok(typeAllowed('application/x-anything', null))
  t.match(typeNotAllowed(allowed), { statusCode: 415, code: 'LG_TYPE_NOT_ALLOWED', message: 'This request takes only files of type image/*, application/pdf' })
})

t.test('the schema: caps required and bounded, types well-formed, no control characters in the message, nothing unknown', async (t) => {
  // Ajv, as Fastify validates bodies.
  const validate = new Ajv().compile(RequestOptionsSchema)
  const check = { Check: (value: unknown): boolean => validate(value) }
  t.ok(check.Check(base))
  t.ok(check.Check({ ...base, allowedTypes: ['image/*', 'application/vnd.ms-excel'], password: '12345678', message: 'Two lines\nand a\ttab' }))
  const refused: unknown[] = [
    { maxFiles: 2, maxBytes: 1 },
    { ...base, maxFiles: 0 },
    { ...base, maxBytes: 0 },
    { ...base, maxBytes: 2 ** 50 + 1 },
    { ...base, allowedTypes: [] },
    { ...base, allowedTypes: ['*/*'] },
    { ...base, allowedTypes: ['image'] },
    { ...base, allowedTypes: ['image/png; charset=x'] },
    { ...base, allowedTypes: ['image/png', 'image/png'] },
    { ...base, password: 'short' },
    { ...base, message: '' },
    { ...base, message: 'a\u0000b' },
    { ...base, message: 'x'.repeat(2001) },
    { ...base, maxDownloads: 1 }
  ]
  for (const options of refused) t.notOk(check.Check(options), JSON.stringify(options))
})
