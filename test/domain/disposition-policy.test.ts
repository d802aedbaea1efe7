import t from 'tap'
import { effectiveDisposition, isInlineSafe } from '../../src/domain/disposition-policy.js'

/** Types a browser shows as what they say, whatever their bytes: inline is kept. */
const INLINE_SAFE = [
  'image/png',
  'image/apng',
  'image/jpeg',
  'image/gif',
  'image/webp',
  'image/avif',
  'image/bmp',
  'image/x-icon',
  'image/vnd.microsoft.icon',
  'IMAGE/PNG',
  ' image/jpeg ',
  'application/pdf',
  'Application/PDF',
  'text/plain; charset=utf-8',
  'text/plain;charset=UTF-8',
  'TEXT/PLAIN; CHARSET=ISO-8859-1',
  'text/plain; charset="utf-8"',
  'text/plain; format=flowed; charset=us-ascii',
  'audio/mpeg',
  'audio/ogg; codecs=opus',
  'video/mp4',
  'video/webm',
  'VIDEO/MP4'
]

/** Everything else, above all what a browser sniffs (and may sniff into HTML) or renders as a document. */
const NOT_INLINE_SAFE = [
  // Sniffed: the type says the sender does not know, so the browser looks at the bytes.
  'unknown/unknown',
  'application/unknown',
  '*/*',
  'application/octet-stream',
  'text/plain',
  'TEXT/PLAIN',
  'text/plain; format=flowed',
  'text/plain; charset=',
  'text/plain; note=charset=utf-8',
  // Documents that run script.
  'text/html',
  'text/html; charset=utf-8',
  'application/xhtml+xml',
  'image/svg+xml',
  'IMAGE/SVG+XML',
  'text/xml',
  'application/xml',
  'text/xsl',
  'application/rss+xml',
  'application/atom+xml',
  'application/mathml+xml',
  'application/vnd.mozilla.xul+xml',
  'multipart/x-mixed-replace; boundary=x',
  // Script and styles, and types that no list of safe ones names.
  'text/javascript',
  'application/javascript',
  'text/css',
  'application/json',
  'text/csv',
  'text/vtt',
  'application/x-shockwave-flash',
  'image/tiff',
  'image/x-xbitmap',
  'application/zip',
  // Near misses.
  'application/pdfx',
  'image/pngx',
  'audio',
  'audio/',
  'audiox/mpeg',
  'video/mp4/../../text/html',
  'text/plainx; charset=utf-8',
  ''
]

t.test('isInlineSafe: raster images, PDF, text/plain with a charset, audio and video', async (t) => {
  for (const type of INLINE_SAFE) t.equal(isInlineSafe(type), true, type)
})

t.test('isInlineSafe: everything else, sniffable types first', async (t) => {
  for (const type of NOT_INLINE_SAFE) t.equal(isInlineSafe(type), false, JSON.stringify(type))
})

t.test('effectiveDisposition: attachment is always kept', async (t) => {
  for (const type of [...INLINE_SAFE, ...NOT_INLINE_SAFE]) {
    t.equal(effectiveDisposition('attachment', type, false), 'attachment', type)
    t.equal(effectiveDisposition('attachment', type, true), 'attachment', type)
  }
})

t.test('effectiveDisposition: inline is kept for the safe types', async (t) => {
  for (const type of INLINE_SAFE) {
    t.equal(effectiveDisposition('inline', type, false), 'inline', type)
    t.equal(effectiveDisposition('inline', type, true), 'inline', type)
  }
})

t.test('effectiveDisposition: inline anything else becomes attachment, unless ALLOW_ACTIVE_INLINE', async (t) => {
  for (const type of NOT_INLINE_SAFE) {
    t.equal(effectiveDisposition('inline', type, false), 'attachment', type)
    t.equal(effectiveDisposition('inline', type, true), 'inline', type)
  }
})
