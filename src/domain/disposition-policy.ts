// Inline display is refused for types a browser would run script from: served from the
// storage origin, they would act there with whatever that origin is trusted with.
import type { Disposition } from './content-disposition.js'

export function isActiveContent (contentType: string): boolean {
  const type = (contentType.split(';')[0] ?? '').trim().toLowerCase()
  return type === 'text/html' || type === 'application/xhtml+xml' || type === 'image/svg+xml' ||
    type === 'text/xml' || type === 'application/xml' || type.endsWith('+xml') || type === 'text/xsl'
}

export function effectiveDisposition (requested: Disposition, contentType: string, allowActiveInline: boolean): Disposition {
  return requested === 'inline' && (allowActiveInline || !isActiveContent(contentType)) ? 'inline' : 'attachment'
}
