// Link access policies and what browsers see, against a real Redis and s3rver.
import t from 'tap'
import { buildTestApp } from '../helpers/app.js'
import { startRedis } from '../helpers/redis.js'
import { startS3 } from '../helpers/s3.js'
import { verifyPresignedUrl } from '../helpers/sigv4.js'

const BROWSER = 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8'

const redis = await startRedis(t)
const s3 = await startS3(t)
const { app, auth } = await buildTestApp(t, { redis, s3 })

async function share (options: object, filename = 'report.pdf', contentType = 'application/pdf'): Promise<{ id: string, token: string, fileId: string }> {
  const up = await app.inject({ method: 'POST', url: `/v1/files?filename=${encodeURIComponent(filename)}`, headers: { authorization: auth('owner'), 'content-type': contentType }, body: 'PDF bytes' })
  t.equal(up.statusCode, 201)
  const res = await app.inject({ method: 'POST', url: `/v1/files/${up.json().id}/links`, headers: { authorization: auth('owner') }, body: options })
  t.equal(res.statusCode, 201, res.body)
  return res.json()
}

async function downloads (linkId: string): Promise<number> {
  return (await app.inject({ url: `/v1/links/${linkId}`, headers: { authorization: auth('owner') } })).json().downloads
}

/** The hidden nonce of a download page. */
function nonceOf (html: string): string {
  return /name="nonce" value="([^"]+)"/.exec(html)?.[1] ?? ''
}

t.test('access "authenticated": any valid JWT, else 401', async (t) => {
  const link = await share({ access: 'authenticated' })
  t.match((await app.inject({ url: `/s/${link.token}` })).json(), { status: 401, code: 'LG_LINK_RESTRICTED' })
  t.equal((await app.inject({ url: `/s/${link.token}`, headers: { authorization: 'Bearer forged.jwt.here' } })).statusCode, 401)
  t.equal((await app.inject({ url: `/s/${link.token}`, headers: { authorization: auth('anyone') } })).statusCode, 302)
  t.equal(await downloads(link.id), 1, 'refusals counted nothing')
})

t.test('access { subjects }: only those subs and the owner; others 403', async (t) => {
  const link = await share({ access: { subjects: ['bob', 'carol'] } })
  t.equal((await app.inject({ url: `/s/${link.token}` })).statusCode, 401)
  const eve = await app.inject({ url: `/s/${link.token}`, headers: { authorization: auth('eve') } })
  t.equal(eve.statusCode, 403)
  t.match(eve.json(), { code: 'LG_LINK_FORBIDDEN' })
  t.equal((await app.inject({ url: `/s/${link.token}`, headers: { authorization: auth('bob') } })).statusCode, 302)
  t.equal((await app.inject({ url: `/s/${link.token}`, headers: { authorization: auth('owner') } })).statusCode, 302)
  t.equal(await downloads(link.id), 2)
  for (const access of [{ subjects: [] }, { subjects: [''] }, { subjects: ['bob', 'bob'] }, 'everyone', { users: ['x'] }]) {
    const res = await app.inject({ method: 'POST', url: `/v1/files/${link.fileId}/links`, headers: { authorization: auth('owner') }, body: { access } })
    t.equal(res.statusCode, 400, JSON.stringify(access))
  }
})

t.test('access { groups, domains }: any part grants, through the Redis redeem path; the lists are small and well-formed', async (t) => {
  const link = await share({ access: { groups: ['finance'], domains: ['example.com'] } })
  const jwt = (sub: string, claims: object): string => `Bearer ${app.jwt.sign({ sub, ...claims }, { expiresIn: '1h' })}`
  t.equal((await app.inject({ url: `/s/${link.token}`, headers: { authorization: jwt('ann', { groups: ['finance'] }) } })).statusCode, 302, 'a group')
  t.equal((await app.inject({ url: `/s/${link.token}`, headers: { authorization: jwt('dan', { email: 'dan@example.com', email_verified: true }) } })).statusCode, 302, 'a verified domain')
  t.equal((await app.inject({ url: `/s/${link.token}`, headers: { authorization: jwt('eve', { email: 'eve@example.com' }) } })).statusCode, 403, 'an unverified address')
  t.equal((await app.inject({ url: `/s/${link.token}`, headers: { authorization: jwt('sam', { groups: ['sales'], email: 'sam@other.org', email_verified: true }) } })).statusCode, 403, 'neither')
  t.equal(await downloads(link.id), 2)
  const tooMany = Array.from({ length: 101 }, (_, i) => `g${i}`)
  for (const access of [{}, { groups: [] }, { groups: [''] }, { groups: tooMany }, { domains: ['Example.com'] }, { domains: ['example'] }, { domains: ['exa mple.com'] },
    { domains: ['-x.com'] }, { domains: ['a@example.com'] }, { domains: ['example.com', 'example.com'] }, { groups: ['x'], roles: ['y'] }]) {
    const res = await app.inject({ method: 'POST', url: `/v1/files/${link.fileId}/links`, headers: { authorization: auth('owner') }, body: { access } })
    t.equal(res.statusCode, 400, JSON.stringify(access).slice(0, 80))
  }
})

t.test('password: missing 401, wrong 403, right 302; stored only as a scrypt hash', async (t) => {
  const password = 'correct horse battery staple'
  const link = await share({ password })
  t.match((await app.inject({ url: `/s/${link.token}` })).json(), { status: 401, code: 'LG_PASSWORD_REQUIRED' })
  t.match((await app.inject({ url: `/s/${link.token}`, headers: { 'x-link-password': 'correct horse battery stapler' } })).json(), { status: 403, code: 'LG_PASSWORD_WRONG' })
  t.equal((await app.inject({ url: `/s/${link.token}`, headers: { 'x-link-password': password } })).statusCode, 302)
  t.equal(await downloads(link.id), 1)
  const view = await app.inject({ url: `/v1/links/${link.id}`, headers: { authorization: auth('owner') } })
  t.equal(view.json().passwordProtected, true)
  t.notOk(view.body.includes('scrypt'), 'the hash is not shown')
  const { Redis } = await import('ioredis')
  const raw = new Redis(redis.url)
  t.teardown(async () => { await raw.quit() })
  const keys = await raw.keys(`${redis.keyPrefix}link:*`)
  const stored = await Promise.all(keys.map(async (k) => await raw.hgetall(k)))
  const mine = stored.find((h) => JSON.parse(h.record ?? '{}').id === link.id)
  t.match(mine?.passwordHash, /^scrypt\$32768\$8\$1\$[\w-]+\$[\w-]+$/)
  t.notOk(JSON.stringify(stored).includes(password), 'the password is nowhere in Redis')
  for (const bad of ['short', 'x'.repeat(257)]) {
    t.equal((await app.inject({ method: 'POST', url: `/v1/files/${link.fileId}/links`, headers: { authorization: auth('owner') }, body: { password: bad } })).statusCode, 400)
  }
})

t.test('disposition: inline where safe, forced attachment for active content', async (t) => {
  const location = async (link: { token: string }): Promise<string> => {
    const url = String((await app.inject({ url: `/s/${link.token}` })).headers.location)
    t.equal(verifyPresignedUrl(url, { secretAccessKey: s3.secretAccessKey }).valid, true)
    return new URL(url).searchParams.get('response-content-disposition') ?? ''
  }
  t.match(await location(await share({ disposition: 'inline' }, 'photo.png', 'image/png')), /^inline; filename="photo.png"/)
  t.match(await location(await share({}, 'photo.png', 'image/png')), /^attachment;/)
  for (const type of ['text/html', 'image/svg+xml', 'application/xhtml+xml', 'text/xml', 'application/rss+xml']) {
    const link = await share({ disposition: 'inline' }, 'page', type)
    t.match(await location(link), /^attachment;/, type)
    t.equal((await app.inject({ url: `/v1/links/${link.id}`, headers: { authorization: auth('owner') } })).json().disposition, 'attachment')
  }
})

t.test('browsers get a page for a limited link; GET and HEAD spend nothing; the form does', async (t) => {
  const link = await share({ maxDownloads: 1 }, '"><script>alert(1)<script>.pdf')
  for (let i = 0; i < 3; i++) {
    const page = await app.inject({ url: `/s/${link.token}`, headers: { accept: BROWSER } })
    t.equal(page.statusCode, 200)
    t.match(page.headers['content-type'], /^text\/html/)
    t.match(page.headers['content-security-policy'], /^default-src 'none'; style-src 'sha256-[^']+'; form-action 'self' http:\/\/gateway.test http:\/\/127.0.0.1:\d+; base-uri 'none'; frame-ancestors 'none'$/)
    t.equal(page.headers['x-content-type-options'], 'nosniff')
    t.equal(page.headers['referrer-policy'], 'no-referrer')
    t.equal(page.headers['cache-control'], 'no-store')
    t.notOk(page.body.includes('<script>'), 'the file name is escaped')
    t.ok(page.body.includes('&#34;&#62;&#60;script&#62;alert(1)&#60;script&#62;.pdf'))
    t.match(page.body, /Downloads left<\/dt><dd>1</)
    t.notOk(page.body.includes('<script'), 'no script at all')
    const head = await app.inject({ method: 'HEAD', url: `/s/${link.token}` })
    t.equal(head.statusCode, 200)
    t.equal(head.headers.location, undefined)
  }
  t.equal(await downloads(link.id), 0)
  const page = await app.inject({ url: `/s/${link.token}`, headers: { accept: BROWSER } })
  const post = await app.inject({ method: 'POST', url: `/s/${link.token}`, headers: { accept: BROWSER, 'content-type': 'application/x-www-form-urlencoded' }, body: `nonce=${encodeURIComponent(nonceOf(page.body))}` })
  t.equal(post.statusCode, 303)
  t.equal(verifyPresignedUrl(String(post.headers.location), { secretAccessKey: s3.secretAccessKey }).valid, true)
  t.equal(await downloads(link.id), 1)
  const again = await app.inject({ url: `/s/${link.token}`, headers: { accept: BROWSER } })
  t.equal(again.statusCode, 404)
  t.match(again.headers['content-type'], /^text\/html/)
  t.match(again.body, /This link does not work/)
  t.equal((await app.inject({ method: 'HEAD', url: `/s/${link.token}` })).statusCode, 404)
})

t.test('browsers get a 302 straight away for a public unlimited link', async (t) => {
  const link = await share({})
  t.equal((await app.inject({ url: `/s/${link.token}`, headers: { accept: BROWSER } })).statusCode, 302)
})

t.test('the form needs the page\'s own nonce', async (t) => {
  const link = await share({ maxDownloads: 3 })
  const other = await share({ maxDownloads: 3 })
  const otherPage = await app.inject({ url: `/s/${other.token}`, headers: { accept: BROWSER } })
  for (const nonce of ['', 'forged', `${Date.now() + 60_000}.AAAA`, nonceOf(otherPage.body)]) {
    const res = await app.inject({ method: 'POST', url: `/s/${link.token}`, headers: { accept: BROWSER, 'content-type': 'application/x-www-form-urlencoded' }, body: `nonce=${encodeURIComponent(nonce)}` })
    t.equal(res.statusCode, 403, nonce)
  }
  t.equal((await app.inject({ method: 'POST', url: `/s/${link.token}`, headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'password=x' })).statusCode, 400, 'no nonce at all')
  t.equal(await downloads(link.id), 0)
})

t.test('a password link in a browser: the form asks, a wrong password says so, the right one downloads', async (t) => {
  const link = await share({ password: 'hunter2hunter2' })
  const page = await app.inject({ url: `/s/${link.token}`, headers: { accept: BROWSER } })
  t.equal(page.statusCode, 200)
  t.match(page.body, /<input id="password" name="password" type="password"/)
  const form = (password: string): string => `nonce=${encodeURIComponent(nonceOf(page.body))}&password=${encodeURIComponent(password)}`
  const wrong = await app.inject({ method: 'POST', url: `/s/${link.token}`, headers: { accept: BROWSER, 'content-type': 'application/x-www-form-urlencoded' }, body: form('hunter3hunter3') })
  t.equal(wrong.statusCode, 403)
  t.match(wrong.body, /class="error" role="alert">Wrong password</)
  const right = await app.inject({ method: 'POST', url: `/s/${link.token}`, headers: { accept: BROWSER, 'content-type': 'application/x-www-form-urlencoded' }, body: form('hunter2hunter2') })
  t.equal(right.statusCode, 303)
  t.equal(await downloads(link.id), 1)
})

t.test('errors: problem+json for API clients, a page for browsers, everywhere', async (t) => {
  const restricted = await share({ access: 'authenticated' })
  const cases: Array<[string, number]> = [[`/s/${restricted.token}`, 401], ['/s/AAAAAAAAAAAAAAAAAAAAAA', 404], ['/s/bad', 400], ['/no/such/route', 404], ['/v1/files', 401]]
  for (const [url, status] of cases) {
    const api = await app.inject({ url })
    t.equal(api.statusCode, status, url)
    t.match(api.headers['content-type'], /^application\/problem\+json/)
    t.match(api.json(), { type: 'about:blank', status, title: String, detail: String })
    const browser = await app.inject({ url, headers: { accept: BROWSER } })
    t.equal(browser.statusCode, status, url)
    t.match(browser.headers['content-type'], /^text\/html/)
    t.match(browser.headers['content-security-policy'], /^default-src 'none'; style-src 'sha256-[^']+'; form-action 'none'/)
  }
})
