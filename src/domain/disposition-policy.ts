// Inline display is an allowlist: only types a browser cannot turn into script, however it
// sniffs them, may be shown on the storage origin (which sends no X-Content-Type-Options);
// anything else (unknown/unknown, octet-stream, HTML, SVG, XML...) could act there with
// whatever that origin is trusted with, so it is served as a download.
import type { Disposition } from './content-disposition.js'

/** Raster images browsers decode as images only (never SVG, which is a document). */
const RASTER_IMAGES = new Set([
  'image/png', 'image/apng', 'image/jpeg', 'image/gif', 'image/webp', 'image/avif', 'image/bmp', 'image/x-icon', 'image/vnd.microsoft.icon'
])
const MEDIA = /^(audio|video)\/[a-z0-9][a-z0-9!#$&^_.+-]*$/

export function isInlineSafe (contentType: string): boolean {
  const [essence = '', ...parameters] = contentType.split(';')
  const type = essence.trim().toLowerCase()
  if (RASTER_IMAGES.has(type) || type === 'application/pdf' || MEDIA.test(type)) return true
  // Without a charset, browsers sniff text/plain (to tell text from binary); with one, they show it as text.
  return type === 'text/plain' && parameters.some((p) => /^\s*charset\s*=\s*"?[a-z0-9_.:-]+"?\s*$/i.test(p))
}

export function effectiveDisposition (requested: Disposition, contentType: string, allowActiveInline: boolean): Disposition {
  return requested === 'inline' && (allowActiveInline || isInlineSafe(contentType)) ? 'inline' : 'attachment'
}
