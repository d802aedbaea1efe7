import t from 'tap'
import { DEFAULT_CONTENT_TYPE, normaliseContentType } from '../../src/domain/content-type.js'

t.test('the default is application/octet-stream', async (t) => {
  t.equal(DEFAULT_CONTENT_TYPE, 'application/octet-stream')
})

t.test('well-formed media types pass through unchanged', async (t) => {
  const valid = [
    'text/plain',
    'text/plain; charset=utf-8',
    'text/plain;charset=utf-8',
    'text/plain; charset="utf-8"',
    'text/html; charset=utf-8; format=flowed',
    'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
    'application/vnd.api+json',
    'image/svg+xml',
    'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=----WebKitFormBoundary7MA4YWxkTrZu0gW',
    'IMAGE/PNG',
    'application/octet-stream',
    'application/x.custom#1'
  ]
  for (const value of valid) t.equal(normaliseContentType(value), value, value)
})

t.test('surrounding whitespace is trimmed', async (t) => {
  t.equal(normaliseContentType('  text/csv  '), 'text/csv')
  t.equal(normaliseContentType('\ttext/csv\r\n'), 'text/csv')
})

t.test('missing, empty and malformed values become application/octet-stream', async (t) => {
  const invalid: Array<string | undefined> = [
    undefined,
    '',
    '   ',
    'garbage',
    'text',
    'text/',
    '/plain',
    'text/plain/extra',
    'text /plain',
    'text/plain text/html',
    'text/plain, text/html',
    'text/plain;',
    'text/plain; charset',
    'text/plain; charset=',
    'text/plain; =utf-8',
    'text/plain; charset="utf-8',
    'text/pl"ain',
    '*/*',
    'text/plain\u0000',
    'téxt/plain',
    'a'.repeat(128) + '/b',
    'a/' + 'b'.repeat(128),
    '<script>alert(1)</script>'
  ]
  for (const value of invalid) t.equal(normaliseContentType(value), DEFAULT_CONTENT_TYPE, JSON.stringify(value))
})

t.test('header injection attempts become application/octet-stream', async (t) => {
  const attacks = [
    'text/html\r\nSet-Cookie: session=stolen',
    'text/html\r\n\r\n<script>alert(1)</script>',
    'text/plain\nX-Injected: 1',
    'text/plain\rX-Injected: 1',
    'text/plain; charset=utf-8\r\nX-Injected: 1',
    'text/plain; charset="utf-8\r\nX-Injected: 1"',
    'text/plain; charset="a\nb"',
    'text/plain\r\n'.repeat(2) + 'x'
  ]
  for (const value of attacks) {
    const result = normaliseContentType(value)
    t.equal(result, DEFAULT_CONTENT_TYPE, JSON.stringify(value))
    t.notMatch(result, /[\r\n]/)
  }
})

t.test('regression: no CR, LF or control characters inside parameters', async (t) => {
  t.equal(normaliseContentType('text/plain\r\n; charset=utf-8'), 'application/octet-stream')
  t.equal(normaliseContentType('text/plain;\r\ncharset=utf-8'), 'application/octet-stream')
  t.equal(normaliseContentType('text/plain; a="\u0000"'), 'application/octet-stream')
  t.equal(normaliseContentType('text/plain; a="caf\u00e9"'), 'application/octet-stream')
  t.equal(normaliseContentType('text/plain;\tcharset="utf-8"'), 'text/plain;\tcharset="utf-8"')
})
