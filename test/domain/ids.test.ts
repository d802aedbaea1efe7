import t from 'tap'
import { ID_PATTERN, newId } from '../../src/domain/ids.js'

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz'
const ID_RE = new RegExp(ID_PATTERN)

/** The first 10 characters are the 48-bit millisecond timestamp. */
function timeOf (id: string): number {
  let value = 0
  for (const c of id.slice(0, 10)) value = value * 32 + ALPHABET.indexOf(c)
  return value
}

const TIMES = [
  0, 1, 2, 31, 32, 255, 256, 257, 1023, 1024, 65_535, 65_536, 16_777_215, 16_777_216,
  2 ** 32 - 1, 2 ** 32, 1_700_000_000_000, Date.UTC(2038, 0, 19), Date.UTC(2100, 0, 1), 2 ** 48 - 1
]

t.test('newId is 26 Crockford base32 characters matching ID_PATTERN', async (t) => {
  for (let i = 0; i < 100; i++) {
    const id = newId()
    t.equal(id.length, 26)
    t.match(id, ID_RE)
    t.match(id, /^[0-9a-z]{26}$/)
    t.notMatch(id, /[ilou]/, 'no ambiguous letters')
  }
  for (const now of TIMES) t.match(newId(now), ID_RE, `at ${now}`)
})

t.test('ID_PATTERN accepts exactly the alphabet', async (t) => {
  t.ok(ID_RE.test('0'.repeat(26)))
  t.ok(ID_RE.test(ALPHABET.slice(0, 26)))
  t.ok(ID_RE.test(ALPHABET.slice(6)))
  for (const c of ['i', 'l', 'o', 'u', 'A', '-', '_']) t.notOk(ID_RE.test(c + '0'.repeat(25)), c)
  t.notOk(ID_RE.test('0'.repeat(25)))
  t.notOk(ID_RE.test('0'.repeat(27)))
})

t.test('the id encodes the given time in its first 10 characters', async (t) => {
  for (const now of TIMES) t.equal(timeOf(newId(now)), now, `at ${now}`)
  const before = Date.now()
  const id = newId()
  const after = Date.now()
  t.ok(timeOf(id) >= before && timeOf(id) <= after, 'defaults to Date.now()')
})

t.test('ids made at increasing times sort in time order', async (t) => {
  // Repeated, since the random tail must never override the time prefix.
  for (let round = 0; round < 50; round++) {
    const ids = TIMES.map((now) => newId(now))
    for (let i = 1; i < ids.length; i++) {
      const a = ids[i - 1] as string
      const b = ids[i] as string
      if (!(a < b)) t.fail(`${a} (${TIMES[i - 1]}) should sort before ${b} (${TIMES[i]})`)
    }
    const shuffled = [...ids].reverse()
    t.same(shuffled.sort(), ids)
  }
  t.ok(newId(255) < newId(256), '255 → 256 ms crosses a byte boundary')
  t.ok(newId(Date.UTC(2099, 11, 31, 23, 59, 59, 999)) < newId(Date.UTC(2100, 0, 1)))
})

t.test('ids made in the same millisecond share the time prefix and are distinct', async (t) => {
  const now = 1_700_000_000_123
  const ids = Array.from({ length: 1000 }, () => newId(now))
  t.equal(new Set(ids).size, 1000)
  const prefixes = new Set(ids.map((id) => id.slice(0, 10)))
  t.same([...prefixes], [newId(now).slice(0, 10)])
  // Same-ms ids still sort below every id of the next millisecond.
  const next = newId(now + 1)
  t.ok(ids.every((id) => id < next))
})

t.test('1000 ids from the clock are distinct', async (t) => {
  const ids = new Set(Array.from({ length: 1000 }, () => newId()))
  t.equal(ids.size, 1000)
})

t.test('a time beyond 48 bits is refused rather than wrapped', async (t) => {
  t.throws(() => newId(2 ** 48))
})
