import t from 'tap'
import { effectiveDisposition, isActiveContent } from '../../src/domain/disposition-policy.js'

const ACTIVE = [
  'text/html',
  'application/xhtml+xml',
  'image/svg+xml',
  'text/xml',
  'application/xml',
  'text/xsl',
  'application/rss+xml',
  'application/atom+xml',
  'application/mathml+xml',
  'application/vnd.mozilla.xul+xml',
  'text/html; charset=utf-8',
  'text/html;charset=utf-8',
  'image/svg+xml; charset=utf-8',
  'application/xml; charset="utf-8"; foo=bar',
  'TEXT/HTML',
  'Text/Html; Charset=UTF-8',
  'IMAGE/SVG+XML',
  'Application/XHTML+XML',
  'TEXT/XSL',
  'APPLICATION/RSS+XML',
  '  text/html  ',
  ' text/html ; charset=utf-8'
]

const PASSIVE = [
  'image/png',
  'image/jpeg',
  'image/gif',
  'image/webp',
  'application/pdf',
  'text/plain',
  'text/plain; charset=utf-8',
  'TEXT/PLAIN',
  'application/json',
  'application/problem+json',
  'text/csv',
  'video/mp4',
  'audio/mpeg',
  'application/octet-stream',
  'application/zip',
  'text/plain; note=text/html', // the type is what counts, not the parameters
  'text/htmlx',
  'application/xmlfoo'
]

t.test('isActiveContent: types a browser may run script from', async (t) => {
  for (const type of ACTIVE) t.equal(isActiveContent(type), true, type)
})

t.test('isActiveContent: passive types', async (t) => {
  for (const type of PASSIVE) t.equal(isActiveContent(type), false, type)
})

t.test('effectiveDisposition: attachment is always kept', async (t) => {
  for (const type of [...ACTIVE, ...PASSIVE]) {
    t.equal(effectiveDisposition('attachment', type, false), 'attachment', type)
    t.equal(effectiveDisposition('attachment', type, true), 'attachment', type)
  }
})

t.test('effectiveDisposition: inline is kept for passive types', async (t) => {
  for (const type of PASSIVE) {
    t.equal(effectiveDisposition('inline', type, false), 'inline', type)
    t.equal(effectiveDisposition('inline', type, true), 'inline', type)
  }
})

t.test('effectiveDisposition: inline active content becomes attachment unless allowed', async (t) => {
  for (const type of ACTIVE) {
    t.equal(effectiveDisposition('inline', type, false), 'attachment', type)
    t.equal(effectiveDisposition('inline', type, true), 'inline', type)
  }
})
