// GET / and /assets/*: the owner's page for a signed-in browser (its HTML, its
// Content-Security-Policy, its labels), the page for everyone else, and its static files
// (cached for a year under names that hash their bytes, compressed for those who take it,
// 304 on a match); the whole page, tus-js-client included, weighs well under 100 kB.
import type { FastifyInstance } from 'fastify'
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { brotliDecompressSync, gunzipSync } from 'node:zlib'
import t from 'tap'
import type { SessionUser } from '../../src/session.js'
import { buildTestApp } from '../helpers/app.js'
import { gatewayOidc, startProvider } from '../helpers/oidc.js'
import { startRedis } from '../helpers/redis.js'
import { startS3 } from '../helpers/s3.js'

const PUBLIC_URL = 'http://gateway.test'
const SECRET = 'owner-page-test-session-secret-0123456789'
/** What Chromium sends. */
const BROWSER = { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8', 'accept-encoding': 'gzip, deflate, br, zstd' }
const TUS = readFileSync(createRequire(import.meta.url).resolve('tus-js-client/dist/tus.min.js'))
/** The weight the issue allows the page ("well under 100 kB"), with room to spare: what the test holds it to. */
const BUDGET = 50_000

/** A session cookie, sealed as the gateway's sign-in would have sealed it. */
function sessionCookie (app: FastifyInstance, user: SessionUser): string {
  const session = app.createSecureSession({ user, __ts: Math.round(Date.now() / 1000) })
  return `lg_session=${encodeURIComponent(app.encodeSecureSession(session, 'session'))}`
}

/** The URL paths of the page's scripts and stylesheets, in order. */
function assetPaths (html: string): string[] {
  return [...html.matchAll(/<(?:script src|link rel="stylesheet" href)="([^"]+)"/g)].map((m) => m[1] ?? '')
}

t.test("the owner's page", async (t) => {
  const provider = await startProvider(t)
  const { app, auth } = await buildTestApp(t, { redis: await startRedis(t), s3: await startS3(t) }, {
    publicUrl: PUBLIC_URL,
    oidc: gatewayOidc(provider, { signIn: true }),
    session: { secrets: [SECRET], ttl: 3600 },
    linkDefaultTtl: 86_400,
    linkMaxTtl: 14 * 86_400
  })
  const ann: SessionUser = { sub: 'ann', groups: [], email: 'ann@example.com', csrf: 'c'.repeat(43) }
  const signedIn = { ...BROWSER, cookie: sessionCookie(app, ann) }
  const page = await app.inject({ url: '/', headers: signedIn })
  const html = page.body

  t.test('not signed in: a way to sign in, and no script', async (t) => {
    const res = await app.inject({ url: '/', headers: BROWSER })
    t.equal(res.statusCode, 200)
    t.match(res.body, '<a class="button primary" href="/auth/login">Sign in</a>')
    t.notMatch(res.body, '<script')
    t.match(res.headers['content-security-policy'], /^default-src 'none'; style-src 'sha256-[^']+'; form-action 'none'/)
    t.equal(res.headers['cache-control'], 'no-store')
    const expired = await app.inject({ url: '/', headers: { ...BROWSER, cookie: 'lg_session=not-a-sealed-session' } })
    t.match(expired.body, 'href="/auth/login"', 'a cookie that does not open is no session')
  })

  t.test('signed in: the page, its policy and its markup', async (t) => {
    t.equal(page.statusCode, 200)
    t.equal(page.headers['content-type'], 'text/html; charset=utf-8')
    t.equal(page.headers['cache-control'], 'no-store', 'it holds the CSRF token')
    t.equal(page.headers['x-content-type-options'], 'nosniff')
    t.equal(page.headers['referrer-policy'], 'no-referrer')
    const csp = String(page.headers['content-security-policy'])
    t.match(csp, new RegExp("^default-src 'none'; script-src http://gateway\\.test/assets/; style-src 'sha256-[A-Za-z0-9+/=]+' http://gateway\\.test/assets/; " +
      "img-src blob:; connect-src http://gateway\\.test/v1/; form-action 'self' http://gateway\\.test http://127\\.0\\.0\\.1:\\d+; base-uri 'none'; frame-ancestors 'none'$"))
    t.notMatch(csp, /unsafe-|'self'[^;]*;.*script|data:/, "no 'unsafe-inline', no 'unsafe-eval', no data:")
    t.notMatch(csp, /script-src[^;]*'self'/, "not 'self': the embedded store serves users' bytes on this origin (/o/*)")

    t.equal((html.match(/<script/g) ?? []).length, 2, 'two scripts')
    t.notMatch(html, /<script(?![^>]* src="\/assets\/)/, 'both of them files under /assets/: no inline script')
    t.notMatch(html, /\son[a-z]+=/i, 'no inline event handler')
    t.same(assetPaths(html).map((p) => p.replace(/\.[0-9a-f]{16}\./, '.*.')), ['/assets/owner.*.css', '/assets/tus.*.min.js', '/assets/owner.*.js'],
      'its stylesheet, then tus-js-client, then its own script')
    t.match(html, `<meta name="csrf-token" content="${ann.csrf}">`, 'the CSRF token for its script')
    t.match(html, 'Signed in as <strong>ann@example.com</strong>')
    t.match(html, /<form method="post" action="\/auth\/logout"><input type="hidden" name="csrf" value="c{43}">/, 'a sign-out form')
    const ttls = [...html.matchAll(/<option value="(\d+)"( selected)?>([^<]+)<\/option>/g)].map((m) => `${m[1] ?? ''}${m[2] ?? ''} ${m[3] ?? ''}`)
    t.same(ttls, ['3600 1 hour', '86400 selected 1 day', '604800 7 days', '1209600 14 days'], 'expiry choices up to LINK_MAX_TTL, LINK_DEFAULT_TTL chosen')
  })

  t.test('accessible: every control has a label, every id is unique, the progress is announced', async (t) => {
    const ids = [...html.matchAll(/\sid="([^"]+)"/g)].map((m) => m[1])
    t.equal(new Set(ids).size, ids.length, 'ids are unique')
    const controls = [...html.matchAll(/<(input|select)(?![^>]*type="hidden")[^>]*\sid="([^"]+)"/g)].map((m) => m[2] ?? '')
    t.ok(controls.length >= 9, `${controls.length} controls`)
    for (const id of controls) t.match(html, `<label for="${id}">`, `#${id} has a label`)
    t.match(html, '<div class="drop" id="drop"><input type="file" id="files" multiple><label for="files">', 'the drop zone is a file input too (keyboard: Tab, then Space)')
    t.match(html, '<p class="status" id="announce" role="status" aria-live="polite"></p>', 'a live region for the uploads\' progress')
    t.match(html, '<html lang="en">')
  })

  t.test('names are escaped', async (t) => {
    const mallory: SessionUser = { sub: '<script>alert(1)</script>', groups: [], email: null, csrf: '"><script>alert(2)</script>' }
    const res = await app.inject({ url: '/', headers: { ...BROWSER, cookie: sessionCookie(app, mallory) } })
    t.equal(res.statusCode, 200)
    t.equal((res.body.match(/<script/g) ?? []).length, 2, 'only the page\'s own scripts')
    t.match(res.body, 'Signed in as <strong>&#60;script&#62;alert(1)&#60;/script&#62;</strong>')
    t.match(res.body, '<meta name="csrf-token" content="&#34;&#62;&#60;script&#62;alert(2)&#60;/script&#62;">')
  })

  t.test('its static files: the right bytes and types, cached for a year under their hash', async (t) => {
    const expected: Record<string, string> = { css: 'text/css; charset=utf-8', js: 'text/javascript; charset=utf-8' }
    for (const path of assetPaths(html)) {
      const res = await app.inject({ url: path })
      t.equal(res.statusCode, 200, path)
      t.equal(res.headers['content-type'], expected[path.slice(path.lastIndexOf('.') + 1)], `${path}: its type`)
      t.equal(res.headers['cache-control'], 'public, max-age=31536000, immutable', `${path}: cached for a year`)
      t.equal(res.headers['x-content-type-options'], 'nosniff')
      t.equal(res.headers['cross-origin-resource-policy'], 'same-origin')
      t.equal(res.headers.vary, 'accept-encoding')
      t.equal(res.headers['content-encoding'], undefined, `${path}: as it is, for a client that asks for no encoding`)
      const hash = createHash('sha256').update(res.rawPayload).digest('hex')
      t.ok(path.includes(`.${hash.slice(0, 16)}.`), `${path}: its name holds the hash of its bytes`)
      t.equal(res.headers.etag, `"${hash}"`, `${path}: its ETag is that hash`)

      const br = await app.inject({ url: path, headers: { 'accept-encoding': 'gzip, deflate, br' } })
      t.equal(br.headers['content-encoding'], 'br')
      t.ok(brotliDecompressSync(br.rawPayload).equals(res.rawPayload), `${path}: brotli, the same bytes`)
      const gzip = await app.inject({ url: path, headers: { 'accept-encoding': 'gzip' } })
      t.equal(gzip.headers['content-encoding'], 'gzip')
      t.ok(gunzipSync(gzip.rawPayload).equals(res.rawPayload), `${path}: gzip, the same bytes`)

      const again = await app.inject({ url: path, headers: { 'if-none-match': String(res.headers.etag) } })
      t.equal(again.statusCode, 304, `${path}: 304 when the browser has it`)
      t.equal(again.rawPayload.length, 0)
      t.equal(again.headers.etag, res.headers.etag)
      t.equal((await app.inject({ url: path, headers: { 'if-none-match': `"other", W/${String(res.headers.etag)}` } })).statusCode, 304, 'in a list, weak')
      t.equal((await app.inject({ url: path, headers: { 'if-none-match': '"other"' } })).statusCode, 200, 'not for another ETag')
      const head = await app.inject({ method: 'HEAD', url: path })
      t.equal(head.statusCode, 200)
      t.equal(head.rawPayload.length, 0)
    }
    const tus = assetPaths(html).find((p) => p.startsWith('/assets/tus.')) ?? ''
    t.ok((await app.inject({ url: tus })).rawPayload.equals(TUS), "tus-js-client's own prebuilt browser build, byte for byte")
  })

  t.test('anything else under /assets/ is not there', async (t) => {
    const [first = ''] = assetPaths(html)
    for (const url of [first.replace(/\.([0-9a-f]{16})\./, '.0000000000000000.'), '/assets/tus.min.js.map', '/assets/owner.js', '/assets/..%2Fpackage.json', '/assets/%2e%2e/src/app.ts', '/assets/']) {
      const res = await app.inject({ url })
      t.ok([400, 404].includes(res.statusCode), `${url}: ${res.statusCode}`)
      t.not(res.headers['cache-control'], 'public, max-age=31536000, immutable', `${url}: not cached`)
    }
  })

  t.test('the whole page, tus-js-client included, is well under 100 kB', async (t) => {
    let sent = page.rawPayload.length
    let plain = page.rawPayload.length
    for (const path of assetPaths(html)) {
      const res = await app.inject({ url: path, headers: BROWSER })
      t.equal(res.statusCode, 200)
      sent += res.rawPayload.length
      plain += (await app.inject({ url: path })).rawPayload.length
      t.comment(`${path}: ${res.rawPayload.length} bytes sent`)
    }
    t.comment(`the page: ${sent} bytes sent to a browser (${plain} uncompressed)`)
    t.ok(sent < BUDGET, `${sent} bytes, under ${BUDGET}`)
  })

  t.test("the page's calls: the session works for the API, and unsafe ones need the CSRF token", async (t) => {
    const up = await app.inject({ method: 'POST', url: '/v1/files?filename=notes.txt', headers: { authorization: auth('ann'), 'content-type': 'text/plain' }, payload: 'notes' })
    t.equal(up.statusCode, 201)
    const files = await app.inject({ url: '/v1/files', headers: { cookie: signedIn.cookie } })
    t.match(files.json(), { items: [{ filename: 'notes.txt' }] }, "ann's files, by her session")
    const text = `${PUBLIC_URL}/s/${'a'.repeat(22)}`
    const noCsrf = await app.inject({ method: 'POST', url: '/v1/qr', headers: { cookie: signedIn.cookie }, payload: { text } })
    t.equal(noCsrf.statusCode, 403)
    t.equal(noCsrf.json().code, 'LG_CSRF')
    const withCsrf = await app.inject({ method: 'POST', url: '/v1/qr', headers: { cookie: signedIn.cookie, 'x-csrf-token': ann.csrf }, payload: { text } })
    t.equal(withCsrf.statusCode, 200)
    t.equal(withCsrf.headers['content-type'], 'image/svg+xml')
  })
})

t.test('without browser sign-in: how to use the API', async (t) => {
  const { app } = await buildTestApp(t, { redis: await startRedis(t), s3: await startS3(t) }, { publicUrl: 'https://files.example.com' })
  const res = await app.inject({ url: '/', headers: BROWSER })
  t.equal(res.statusCode, 200)
  t.match(res.body, "curl -H \"Authorization: Bearer $TOKEN\" -F file=@report.pdf \\\n  'https://files.example.com/v1/files?share=true'")
  t.match(res.body, '<a href="/docs">/docs</a>')
  t.notMatch(res.body, 'Sign in')
  t.notMatch(res.body, '<script')
  t.match(res.headers['content-security-policy'], /^default-src 'none'; style-src 'sha256-[^']+'; form-action 'none'/)
  const withCookie = await app.inject({ url: '/', headers: { ...BROWSER, cookie: 'lg_session=anything' } })
  t.equal(withCookie.statusCode, 200, 'a stray cookie changes nothing')
  t.notMatch(withCookie.body, '<script')
})
