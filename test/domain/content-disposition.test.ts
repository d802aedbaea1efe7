import t from 'tap'
import { contentDisposition } from '../../src/domain/content-disposition.js'

t.test('exact header values', async (t) => {
  const cases: Array<[string, string]> = [
    ['report.pdf', 'attachment; filename="report.pdf"'],
    ['my report v2.pdf', 'attachment; filename="my report v2.pdf"'],
    ['a;b=c.txt', 'attachment; filename="a;b=c.txt"'],
    ["it's (1)*.txt", 'attachment; filename="it\'s (1)*.txt"'],
    ['Café.pdf', 'attachment; filename="Caf_.pdf"; filename*=UTF-8\'\'Caf%C3%A9.pdf'],
    ['say "hi".txt', 'attachment; filename="say _hi_.txt"; filename*=UTF-8\'\'say%20%22hi%22.txt'],
    ['a\\b.txt', 'attachment; filename="a_b.txt"; filename*=UTF-8\'\'a%5Cb.txt'],
    ['100%.txt', 'attachment; filename="100_.txt"; filename*=UTF-8\'\'100%25.txt'],
    ['%41.txt', 'attachment; filename="_41.txt"; filename*=UTF-8\'\'%2541.txt'],
    ['a;b "c".txt', 'attachment; filename="a;b _c_.txt"; filename*=UTF-8\'\'a%3Bb%20%22c%22.txt'],
    ["l'été (1)*.txt", 'attachment; filename="l\'_t_ (1)*.txt"; filename*=UTF-8\'\'l%27%C3%A9t%C3%A9%20%281%29%2A.txt'],
    ['😀.png', 'attachment; filename="__.png"; filename*=UTF-8\'\'%F0%9F%98%80.png'],
    ['tab\there', 'attachment; filename="tab_here"; filename*=UTF-8\'\'tab%09here'],
    ['日本語', 'attachment; filename="___"; filename*=UTF-8\'\'%E6%97%A5%E6%9C%AC%E8%AA%9E']
  ]
  for (const [name, expected] of cases) t.equal(contentDisposition(name), expected, JSON.stringify(name))
})

t.test('the type defaults to attachment and may be inline', async (t) => {
  t.equal(contentDisposition('a.txt', 'inline'), 'inline; filename="a.txt"')
  t.equal(contentDisposition('a.txt', 'attachment'), 'attachment; filename="a.txt"')
  t.equal(contentDisposition('Café.pdf', 'inline'), 'inline; filename="Caf_.pdf"; filename*=UTF-8\'\'Caf%C3%A9.pdf')
})

const NAMES = [
  'report.pdf', 'Café.pdf', 'say "hi".txt', 'a\\b.txt', '100%.txt', 'a;b;c.txt', "l'été (1)*.txt",
  '😀 party 🎉.png', 'données "2026".csv', '\u007f\u0001x', '!#$&+-.^_`|~ = ok', 'Ωmega — “quoted” ‘x’.txt',
  'a'.repeat(200) + 'é'
]

function parse (header: string): { type: string, fallback: string, extended: string | undefined } {
  const m = /^(attachment|inline); filename="([^"]*)"(?:; filename\*=UTF-8''(.*))?$/.exec(header)
  if (m === null) throw new Error(`unparseable: ${header}`)
  return { type: m[1] as string, fallback: m[2] as string, extended: m[3] }
}

t.test('filename* decodes back to the original and uses only RFC 5987 attr-char or %XX', async (t) => {
  for (const name of NAMES) {
    const { fallback, extended } = parse(contentDisposition(name))
    if (extended === undefined) {
      t.equal(fallback, name, `${JSON.stringify(name)}: no filename* only when the fallback is exact`)
      continue
    }
    t.equal(decodeURIComponent(extended), name, JSON.stringify(name))
    t.match(extended, /^(?:[A-Za-z0-9!#$&+.^_`|~-]|%[0-9A-F]{2})*$/, `${JSON.stringify(name)}: attr-char`)
    t.notMatch(extended, /['()*]/, `${JSON.stringify(name)}: no bare ' ( ) *`)
  }
})

t.test('the quoted fallback is printable ASCII without ", \\ or %', async (t) => {
  for (const name of NAMES) {
    const { fallback } = parse(contentDisposition(name))
    t.match(fallback, /^[\x20-\x7e]*$/, JSON.stringify(name))
    t.notMatch(fallback, /["\\%]/, JSON.stringify(name))
  }
})

t.test('the header never carries a line break or control character', async (t) => {
  for (const name of [...NAMES, 'evil\r\nSet-Cookie: a=b', 'nul\u0000.txt']) {
    // eslint-disable-next-line no-control-regex
    t.notMatch(contentDisposition(name), /[\u0000-\u001f\u007f]/, JSON.stringify(name))
  }
})
