// POST /v1/qr: a QR code (SVG) of one of this gateway's URLs, for the owner's page. The SVG
// decodes back to the URL; anything but a URL under PUBLIC_URL of at most 512 characters is
// refused; it needs a credential (and, with a session, its CSRF token); the picture can run
// no script wherever it is opened.
import decodeQR from 'qr/decode.js'
import t from 'tap'
import { buildTestApp } from '../helpers/app.js'
import { startRedis } from '../helpers/redis.js'

const PUBLIC_URL = 'http://gateway.test'
const LINK = `${PUBLIC_URL}/s/${'Ab9_-'.repeat(4)}xy`
const SCALE = 4

/**
 * The SVG drawn as RGBA pixels, SCALE to a module: each subpath of its one path (M/m, then
 * h/v/H/V and Z) filled as the rectangle its points span, black on white.
 */
function rasterize (svg: string): { width: number, height: number, data: Uint8ClampedArray } {
  const box = /viewBox="0 0 (\d+) (\d+)"/.exec(svg)
  const path = /<path d="([^"]+)"/.exec(svg)
  if (box === null || path === null) throw new Error(`not the SVG expected: ${svg.slice(0, 200)}`)
  const [columns, rows] = [Number(box[1]), Number(box[2])]
  const width = columns * SCALE
  const height = rows * SCALE
  const data = new Uint8ClampedArray(width * height * 4).fill(255)
  let x = 0
  let y = 0
  let start = { x: 0, y: 0 }
  let points: Array<{ x: number, y: number }> = []
  const fill = (): void => {
    if (points.length === 0) return
    const xs = points.map((p) => p.x)
    const ys = points.map((p) => p.y)
    for (let py = Math.min(...ys) * SCALE; py < Math.max(...ys) * SCALE; py++) {
      for (let px = Math.min(...xs) * SCALE; px < Math.max(...xs) * SCALE; px++) data.fill(0, (py * width + px) * 4, (py * width + px) * 4 + 3)
    }
    points = []
  }
  for (const [, command = '', args = ''] of path[1]?.matchAll(/([MmHhVvZz])([^MmHhVvZz]*)/g) ?? []) {
    const n = args.trim() === '' ? [] : args.trim().split(/[\s,]+/).map(Number)
    if (command === 'M' || command === 'm') {
      fill()
      x = (command === 'm' ? x : 0) + (n[0] ?? NaN)
      y = (command === 'm' ? y : 0) + (n[1] ?? NaN)
      start = { x, y }
    } else if (command === 'h') x += n[0] ?? NaN
    else if (command === 'H') x = n[0] ?? NaN
    else if (command === 'v') y += n[0] ?? NaN
    else if (command === 'V') y = n[0] ?? NaN
    else ({ x, y } = start)
    if (!Number.isFinite(x) || !Number.isFinite(y)) throw new Error(`a path command not understood: ${command}${args}`)
    points.push({ x, y })
  }
  fill()
  return { width, height, data }
}

t.test('POST /v1/qr', async (t) => {
  const { app, auth } = await buildTestApp(t, { redis: await startRedis(t) }, { publicUrl: PUBLIC_URL })
  const qr = async (text: unknown, headers: Record<string, string> = { authorization: auth() }): Promise<Awaited<ReturnType<typeof app.inject>>> =>
    await app.inject({ method: 'POST', url: '/v1/qr', headers, payload: { text } })

  t.test('an SVG that decodes to the link, and can run nothing', async (t) => {
    const res = await qr(LINK)
    t.equal(res.statusCode, 200)
    t.equal(res.headers['content-type'], 'image/svg+xml')
    t.equal(res.headers['x-content-type-options'], 'nosniff')
    t.equal(res.headers['content-security-policy'], "default-src 'none'; frame-ancestors 'none'; sandbox", 'opened on its own, it may run no script')
    t.equal(res.headers['cache-control'], 'no-store', 'it holds a link: never cached')
    t.match(res.body, /^<svg [^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"[^>]*>/)
    t.match(res.body, /<\/svg>$/)
    t.match(res.body, /^<svg [^>]*><rect width="100%" height="100%" fill="#fff"\/><path d="[^"]+"\s*\/?><\/svg>$/, 'a white ground, then the dark modules: one path, nothing else')
    t.notMatch(res.body, /<script|\son\w+=|href=|<foreignObject/i, 'nothing active in it')
    t.equal(decodeQR(rasterize(res.body)), LINK, 'a QR reader reads the link')
    // The standard asks for a quiet zone of four modules around the symbol.
    const { width, data } = rasterize(res.body)
    const dark = (px: number, py: number): boolean => data[(py * width + px) * 4] === 0
    const firstDark = Array.from({ length: width }, (_, i) => i).find((i) => dark(i, i))
    t.equal(firstDark, 4 * SCALE, 'a quiet zone of four modules')
  })

  t.test('the longest URL it takes, and one character more', async (t) => {
    const longest = `${PUBLIC_URL}/s/${'a'.repeat(512 - PUBLIC_URL.length - 3)}`
    t.equal(longest.length, 512)
    const res = await qr(longest)
    t.equal(res.statusCode, 200)
    t.equal(decodeQR(rasterize(res.body)), longest)
    const over = await qr(`${longest}a`)
    t.equal(over.statusCode, 400)
    t.match(over.json(), { code: 'LG_BAD_REQUEST', detail: /body\/text is not well-formed/ })
  })

  t.test('only URLs of this gateway: it is no QR service for anything else', async (t) => {
    for (const text of [
      'https://evil.example/s/abc',
      'http://gateway.test.evil.example/s/abc', // PUBLIC_URL as a prefix of another host
      'http://gateway.test@evil.example/', // or as userinfo
      'http://gateway.test', // PUBLIC_URL itself, without a path
      'HTTP://GATEWAY.TEST/s/abc',
      'just-some-text',
      'javascript:alert(1)//http://gateway.test/'
    ]) {
      const res = await qr(text)
      t.equal(res.statusCode, 400, text)
      t.match(res.json(), { code: 'LG_QR_NOT_OURS', detail: 'Only URLs of this gateway (http://gateway.test/…) are made into QR codes' }, text)
    }
    for (const text of ['', `${PUBLIC_URL}/s/a b`, `${PUBLIC_URL}/s/ünïcode`, `${PUBLIC_URL}/s/\n`, `${PUBLIC_URL}/<svg onload=alert(1)>`.replace(/ /g, '\t')]) {
      const res = await qr(text)
      t.equal(res.statusCode, 400, JSON.stringify(text))
      t.equal(res.json().code, 'LG_BAD_REQUEST', 'printable ASCII only, as the gateway makes its URLs')
    }
    for (const payload of [{ text: LINK, size: 10 }, { url: LINK }, { text: 42 }, null]) {
      const res = await app.inject({ method: 'POST', url: '/v1/qr', headers: { authorization: auth() }, payload: payload as never })
      t.equal(res.statusCode, 400, JSON.stringify(payload))
    }
  })

  t.test('needs a credential, and a personal token with links:read', async (t) => {
    const anonymous = await qr(LINK, {})
    t.equal(anonymous.statusCode, 401)
    t.equal(anonymous.json().code, 'LG_UNAUTHENTICATED')
    const forged = await qr(LINK, { authorization: 'Bearer not-a-token' })
    t.equal(forged.statusCode, 401)

    const token = async (scopes: string[]): Promise<string> => {
      const made = await app.inject({ method: 'POST', url: '/v1/tokens', headers: { authorization: auth() }, payload: { name: scopes.join(' '), scopes } })
      t.equal(made.statusCode, 201)
      return `Bearer ${String(made.json().token)}`
    }
    t.equal((await qr(LINK, { authorization: await token(['links:read']) })).statusCode, 200)
    const uploader = await qr(LINK, { authorization: await token(['files:write']) })
    t.equal(uploader.statusCode, 403)
    t.equal(uploader.json().code, 'LG_SCOPE')
  })
})
