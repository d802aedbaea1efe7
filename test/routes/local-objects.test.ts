// The embedded store's gateway-signed download URLs (/o/*) on a real listening server:
// HEAD answers what GET answers, without the body, bytes read off the socket.
import { once } from 'node:events'
import { connect } from 'node:net'
import t from 'tap'
import { buildTestApp } from '../helpers/app.js'

const { app, auth } = await buildTestApp(t)
await app.listen({ host: '127.0.0.1', port: 0 })
const { port } = app.server.address() as { port: number }
const base = `http://127.0.0.1:${port}`

/** One request on a fresh connection: the raw bytes of the answer, up to the server closing it. */
async function raw (method: string, path: string): Promise<{ status: number, headers: Map<string, string>, body: Buffer }> {
  const socket = connect(port, '127.0.0.1')
  // Not end(): a half-closed socket may be dropped before the answer; the server closes it.
  socket.write(`${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`)
  const chunks: Buffer[] = []
  socket.on('data', (c: Buffer) => chunks.push(c))
  await once(socket, 'close')
  const bytes = Buffer.concat(chunks)
  const end = bytes.indexOf('\r\n\r\n')
  const [statusLine = '', ...lines] = bytes.subarray(0, end).toString('latin1').split('\r\n')
  const headers = new Map(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]))
  return { status: Number(statusLine.split(' ')[1]), headers, body: bytes.subarray(end + 4) }
}

t.test('HEAD of a signed /o/ URL: the headers of GET, no body, the right content-length', async (t) => {
  const content = 'seventeen bytes!\n'
  const up = await fetch(`${base}/v1/files?filename=notes.txt&share=true`, { method: 'POST', headers: { authorization: auth(), 'content-type': 'text/plain; charset=utf-8' }, body: content })
  t.equal(up.status, 201)
  const { link } = await up.json() as { link: { token: string } }
  const redirect = await fetch(`${base}/s/${link.token}`, { redirect: 'manual' })
  t.equal(redirect.status, 302)
  const location = new URL(redirect.headers.get('location') ?? '')
  const path = location.pathname + location.search
  t.ok(path.startsWith('/o/files/'), 'an embedded-store URL')

  const get = await raw('GET', path)
  const head = await raw('HEAD', path)
  t.equal(get.status, 200)
  t.equal(get.body.toString(), content)
  t.equal(head.status, 200)
  t.equal(head.body.length, 0, 'no body')
  t.equal(head.headers.get('content-length'), String(Buffer.byteLength(content)))
  for (const name of ['content-type', 'content-disposition', 'content-length', 'cache-control', 'x-content-type-options', 'referrer-policy']) {
    t.equal(head.headers.get(name), get.headers.get(name), name)
  }
  t.equal(head.headers.get('content-disposition'), 'attachment; filename="notes.txt"')

  const tampered = await raw('HEAD', path.replace('ct=', 'ct=x'))
  t.equal(tampered.status, 403, 'a tampered URL is refused to HEAD too')
})

t.test('with ALLOW_ACTIVE_INLINE, an active type served from the gateway\'s own origin runs in a sandbox', async (t) => {
  const lax = await buildTestApp(t, {}, { allowActiveInline: true })
  await lax.app.listen({ host: '127.0.0.1', port: 0 })
  const laxBase = `http://127.0.0.1:${(lax.app.server.address() as { port: number }).port}`
  const served = async (type: string): Promise<Headers> => {
    const up = await fetch(`${laxBase}/v1/files?filename=f`, { method: 'POST', headers: { authorization: lax.auth(), 'content-type': type }, body: '<script>alert(1)</script>' })
    const { id } = await up.json() as { id: string }
    const mint = await fetch(`${laxBase}/v1/files/${id}/links`, { method: 'POST', headers: { authorization: lax.auth(), 'content-type': 'application/json' }, body: '{"disposition":"inline"}' })
    const { token } = await mint.json() as { token: string }
    const redirect = await fetch(`${laxBase}/s/${token}`, { redirect: 'manual' })
    // The URL names PUBLIC_URL (gateway.test): the same path, on this server.
    const location = new URL(redirect.headers.get('location') ?? '')
    const res = await fetch(`${laxBase}${location.pathname}${location.search}`)
    await res.arrayBuffer()
    return res.headers
  }
  const html = await served('text/html')
  t.match(html.get('content-disposition'), /^inline/, 'inline, as ALLOW_ACTIVE_INLINE allows')
  t.equal(html.get('content-security-policy'), 'sandbox', 'but sandboxed: not the gateway\'s origin')
  const png = await served('image/png')
  t.equal(png.get('content-security-policy'), null, 'a type that cannot run script needs none')
})
