// Browser or API client? A request that prefers text/html is a browser; curl's */* and
// application/json are API clients.

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
