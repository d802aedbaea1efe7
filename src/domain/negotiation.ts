// Browser or API client? A request that prefers text/html is a browser; curl's */* and
// application/json are API clients. And which compressed form of a static file a client takes.

function quality (accept: string, type: string): number {
  let best = -1
  for (const range of accept.split(',')) {
    const [media = '', ...params] = range.trim().toLowerCase().split(';')
    if (media.trim() !== type) continue
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='))
    const value = q === undefined ? 1 : Number(q.slice(2))
    best = Math.max(best, Number.isFinite(value) ? value : 0)
  }
  return best
}

export function prefersHtml (accept: string | undefined): boolean {
  if (accept === undefined) return false
  const html = Math.max(quality(accept, 'text/html'), quality(accept, 'application/xhtml+xml'))
  return html > 0 && html >= Math.max(quality(accept, 'application/json'), quality(accept, 'application/problem+json'))
}

/**
 * The first of `offered` (in the server's order of preference) that `acceptEncoding` takes
 * with a quality above 0, or null: then the bytes go as they are. `*` is not read: every
 * client that decompresses names what it decompresses.
 */
export function preferredEncoding<T extends string> (acceptEncoding: string | undefined, offered: readonly T[]): T | null {
  if (acceptEncoding === undefined) return null
  return offered.find((encoding) => quality(acceptEncoding, encoding) > 0) ?? null
}
