// RFC 6266 Content-Disposition with an RFC 5987 `filename*` for non-ASCII names.
import { Type, type Static } from 'typebox'

export const DispositionSchema = Type.Union([Type.Literal('attachment'), Type.Literal('inline')])

export type Disposition = Static<typeof DispositionSchema>

/** RFC 5987 attr-char: encodeURIComponent leaves `'()*` unescaped, which attr-char forbids. */
function encodeRfc5987 (value: string): string {
  return encodeURIComponent(value).replace(/['()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase())
}

/**
 * The quoted `filename` is a fallback for old clients: printable ASCII only, and no
 * `"`, `\` or `%` (some user agents unescape or percent-decode it).
 */
function asciiFallback (filename: string): string {
  return filename.replace(/[^\x20-\x7e]|["\\%]/g, '_')
}

export function contentDisposition (filename: string, type: Disposition = 'attachment'): string {
  const fallback = asciiFallback(filename)
  const header = `${type}; filename="${fallback}"`
  return fallback === filename ? header : `${header}; filename*=UTF-8''${encodeRfc5987(filename)}`
}
