import t from 'tap'
import { cleanFilename, decodeMultipartFilename } from '../../src/domain/filename.js'

t.test('decodeMultipartFilename undoes exactly %22, %0D and %0A, in either case', async (t) => {
  const cases: Array<[string, string]> = [
    ['a%22b%22.txt', 'a"b".txt'],
    ['line%0D%0Abreak', 'line\r\nbreak'],
    ['line%0d%0abreak', 'line\r\nbreak'],
    ['%0A%0a%0D%0d', '\n\n\r\r'],
    ['%220', '"0'],
    ['%41.txt', '%41.txt'],
    ['100%25.txt', '100%25.txt'],
    ['%2522', '%2522'],
    ['%20space', '%20space'],
    ['%2F..%2Fetc', '%2F..%2Fetc'],
    ['%00nul', '%00nul'],
    ['%E2%82%AC', '%E2%82%AC'],
    ['%', '%'],
    ['%2', '%2'],
    ['%zz', '%zz'],
    ['plain.txt', 'plain.txt'],
    ['', '']
  ]
  for (const [raw, expected] of cases) t.equal(decodeMultipartFilename(raw), expected, JSON.stringify(raw))
})

t.test('cleanFilename keeps only the last path segment', async (t) => {
  const cases: Array<[string, string]> = [
    ['C:\\fakepath\\report.pdf', 'report.pdf'],
    ['\\\\server\\share\\x.doc', 'x.doc'],
    ['/etc/passwd', 'passwd'],
    ['../../secret.txt', 'secret.txt'],
    ['..\\..\\secret.txt', 'secret.txt'],
    ['a/b\\c/d.txt', 'd.txt'],
    ['plain.txt', 'plain.txt']
  ]
  for (const [raw, expected] of cases) t.equal(cleanFilename(raw), expected, JSON.stringify(raw))
})

t.test('cleanFilename drops control characters and trims', async (t) => {
  t.equal(cleanFilename('a\u0000b\u001fc\u007fd.txt'), 'abcd.txt')
  t.equal(cleanFilename('evil\r\nname.txt'), 'evilname.txt')
  t.equal(cleanFilename('tab\tname'), 'tabname')
  t.equal(cleanFilename('  spaced name.txt  '), 'spaced name.txt')
  t.equal(cleanFilename(' \u0000 inner  spaces \u0007 '), 'inner  spaces')
  t.equal(cleanFilename('Café ✓.pdf'), 'Café ✓.pdf', 'non-ASCII kept')
})

t.test('cleanFilename falls back when nothing usable is left', async (t) => {
  for (const raw of [undefined, '', '   ', '.', '..', ' .. ', 'dir/', 'a/..', 'C:\\x\\.', '\u0000\u0001', '\r\n']) {
    t.equal(cleanFilename(raw), 'upload', JSON.stringify(raw))
    t.equal(cleanFilename(raw, 'file.bin'), 'file.bin', `${JSON.stringify(raw)} with a fallback`)
  }
  t.equal(cleanFilename('...'), '...', 'only . and .. are special')
  t.equal(cleanFilename('name', 'file.bin'), 'name', 'the fallback is only a fallback')
})

/** True when the string has no lone surrogate, i.e. survives a UTF-8 round trip. */
const wellFormed = (s: string): boolean => Buffer.from(s, 'utf8').toString('utf8') === s

t.test('cleanFilename caps the name at 255 UTF-8 bytes without splitting a character', async (t) => {
  t.equal(cleanFilename('a'.repeat(255)), 'a'.repeat(255), 'exactly 255 bytes is kept')
  t.equal(cleanFilename('a'.repeat(300)), 'a'.repeat(255))
  t.equal(cleanFilename('é'.repeat(200)), 'é'.repeat(127), '2-byte characters: 254 bytes')
  t.equal(cleanFilename('€'.repeat(100)), '€'.repeat(85), '3-byte characters: 255 bytes')

  const cases = ['😀'.repeat(100), 'a' + '😀'.repeat(100), 'ab' + '😀'.repeat(100), 'abc' + '🎉'.repeat(300), 'x'.repeat(254) + '😀', 'é'.repeat(127) + '😀😀']
  for (const raw of cases) {
    const name = cleanFilename(raw)
    const bytes = Buffer.byteLength(name)
    t.ok(bytes <= 255, `${bytes} bytes`)
    t.ok(wellFormed(name), 'no lone surrogate')
    t.ok(raw.startsWith(name), 'a prefix of the original')
    // As long as possible: the next whole character would not have fitted.
    const next = [...raw][[...name].length] as string
    t.ok(bytes + Buffer.byteLength(next) > 255, 'no room for the next character')
  }
  t.equal(cleanFilename('😀'.repeat(100)), '😀'.repeat(63))
  t.equal(cleanFilename('x'.repeat(254) + '😀'), 'x'.repeat(254))
})

t.test('cleanFilename caps after stripping the path', async (t) => {
  t.equal(cleanFilename('d'.repeat(300) + '/name.txt'), 'name.txt')
})

t.test('regression: capping a very long name is linear, not quadratic', async (t) => {
  // Used to rebuild the string once per removed character: 18 s for 40,000 characters.
  const name = cleanFilename('a'.repeat(200_000))
  t.equal(Buffer.byteLength(name), 255)
})

t.test('direction overrides, C1 controls and lone surrogates do not survive', async (t) => {
  t.equal(cleanFilename('invoice\u202Egpj.exe'), 'invoicegpj.exe')
  t.equal(cleanFilename('a\u0085b\u2066c'), 'abc')
  t.equal(cleanFilename('\uD800half.txt'), '\uFFFDhalf.txt')
})
