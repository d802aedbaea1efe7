// Browser sign-in against a real OpenID Provider (oidc-provider on loopback): the
// Authorization Code flow with PKCE, the session cookie, CSRF, open redirects, sign-out, and
// what restricted links show whoever signed in. The gateway is driven by inject; the
// provider over HTTP, the way a browser follows it.
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import t from 'tap'
import type { AuditEvent } from '../../src/audit.js'
import type { Config } from '../../src/config.js'
import { buildTestApp, type TestApp } from '../helpers/app.js'
import { gatewayOidc, loginAtProvider, startProvider, type TestProvider } from '../helpers/oidc.js'

const SECRET = 'session-secret-for-the-tests-0123456789'
const USERS = {
  ann: { email: 'ann@example.com', email_verified: true, groups: ['finance'] },
  bob: { email: 'bob@other.org', email_verified: true, groups: ['sales'] },
  eve: { email: 'eve@example.com', email_verified: false, groups: [] },
  // Adversarial users (review of issue 16).
  mallory: { email: 'ann@example.com', email_verified: false, groups: [] },
  cyrillic: { email: 'c@example.com', email_verified: true, groups: Array.from({ length: 400 }, (_, i) => `группа-${String(i).padStart(4, '0')}`) },
  quoted: { email: 'q@example.com', email_verified: true, groups: Array.from({ length: 400 }, (_, i) => `"q\\${i}"`) },
  ['s'.repeat(256)]: { email: `${'x'.repeat(200)}@example.com`, email_verified: true, groups: Array.from({ length: 400 }, (_, i) => `group-${String(i).padStart(4, '0')}`) },
  '<script>alert(1)</script>': { email: '<img src=x onerror=alert(1)>@example.com', email_verified: true, groups: ['<script>alert(2)</script>'] }
}

function settings (provider: TestProvider): Partial<Config> {
  return {
    oidc: gatewayOidc(provider, { signIn: true }),
    session: { secrets: [SECRET], ttl: 3600 }
  }
}

type Gateway = TestApp & { events: AuditEvent[] }

async function setup (tt: Parameters<typeof buildTestApp>[0], over: Partial<Config> | ((provider: TestProvider) => Partial<Config>) = {}): Promise<{ provider: TestProvider, gw: Gateway }> {
  const provider = await startProvider(tt, { users: USERS })
  const events: AuditEvent[] = []
  const gw = await buildTestApp(tt, { setup: (app) => { app.auditEvents.on('event', (e) => events.push(e)) } }, { ...settings(provider), ...(typeof over === 'function' ? over(provider) : over) })
  return { provider, gw: { ...gw, events } }
}

function cookie (res: LightMyRequestResponse, name: string): string {
  const found = res.cookies.find((c) => c.name === name)
  if (found === undefined) throw new Error(`no ${name} cookie in ${JSON.stringify(res.headers['set-cookie'])}`)
  return `${name}=${encodeURIComponent(found.value)}`
}

/** Opens `path` as a browser with no session, signs `user` in at the provider, comes back: the session cookie and where it landed. */
async function signIn (app: FastifyInstance, path: string, user: string): Promise<{ session: string, landed: string }> {
  const start = await app.inject({ method: 'GET', url: path, headers: { accept: 'text/html' } })
  if (start.statusCode !== 302) throw new Error(`expected a redirect to the provider, got ${start.statusCode}: ${start.body}`)
  const back = await loginAtProvider(start.headers.location as string, user)
  const callback = await app.inject({ method: 'GET', url: back.pathname + back.search, headers: { accept: 'text/html', cookie: cookie(start, 'lg_signin') } })
  if (callback.statusCode !== 303) throw new Error(`the callback answered ${callback.statusCode}: ${callback.body}`)
  return { session: cookie(callback, 'lg_session'), landed: callback.headers.location as string }
}

async function shareFile (gw: TestApp, access: unknown): Promise<string> {
  const up = await gw.app.inject({ method: 'POST', url: '/v1/files', headers: { authorization: gw.auth('owner'), 'content-type': 'text/plain', 'x-filename': 'plan.txt' }, payload: 'the plan' })
  const link = await gw.app.inject({ method: 'POST', url: `/v1/files/${up.json().id as string}/links`, headers: { authorization: gw.auth('owner') }, payload: { access } })
  if (link.statusCode !== 201) throw new Error(link.body)
  return new URL(link.json().url as string).pathname
}

t.test('a restricted link in a browser: sign in, back on its page, download', async (t) => {
  const { provider, gw } = await setup(t)
  const path = await shareFile(gw, { groups: ['finance'] })
  const first = await gw.app.inject({ method: 'GET', url: path, headers: { accept: 'text/html' } })
  t.equal(first.statusCode, 302, 'no session: sent to the provider')
  const authorize = new URL(first.headers.location as string)
  t.equal(authorize.origin, provider.issuer)
  t.equal(authorize.searchParams.get('code_challenge_method'), 'S256', 'PKCE')
  t.ok((authorize.searchParams.get('state') ?? '').length >= 32, 'a state')
  t.ok((authorize.searchParams.get('nonce') ?? '').length >= 32, 'a nonce')
  t.equal(authorize.searchParams.get('redirect_uri'), 'http://gateway.test/auth/callback')
  const signInCookie = first.cookies.find((c) => c.name === 'lg_signin')
  t.match(signInCookie, { path: '/auth/callback', httpOnly: true, sameSite: 'Lax', maxAge: 600 }, 'the sign-in in progress: ten minutes, for the callback only')
  t.notOk(signInCookie?.secure, 'not Secure on an http PUBLIC_URL')

  const { session, landed } = await signIn(gw.app, path, 'ann')
  t.equal(landed, path, 'back on the link')
  const page = await gw.app.inject({ method: 'GET', url: path, headers: { accept: 'text/html', cookie: session } })
  t.equal(page.statusCode, 200)
  t.match(page.body, /Signed in as <strong>ann@example\.com<\/strong>/, 'the page says who is signed in')
  t.match(page.body, /action="\/auth\/logout"/, 'and offers to sign out')
  t.match(page.headers['content-security-policy'], new RegExp(`form-action [^;]*${provider.issuer.replace(/[.:/]/g, '\\$&')}`), 'signing out may lead to the provider')
  const nonce = /name="nonce" value="([^"]+)"/.exec(page.body)?.[1] ?? ''
  const download = await gw.app.inject({ method: 'POST', url: path, headers: { accept: 'text/html', cookie: session, 'content-type': 'application/x-www-form-urlencoded' }, payload: `nonce=${encodeURIComponent(nonce)}` })
  t.equal(download.statusCode, 303, 'the form spends the download')
  t.match(download.headers.location, /^http:\/\/gateway\.test\/o\//)

  const signedIn = gw.events.find((e) => e.event === 'auth.signed_in')
  t.match(signedIn, { sub: 'ann', outcome: 'success' }, 'the sign-in is audited')
  t.match(gw.events.find((e) => e.event === 'link.redeemed'), { sub: 'ann' }, 'link.redeemed carries the signed-in user')

  // Without the session, the same form is refused: its nonce was bound to the session.
  const stolen = await gw.app.inject({ method: 'POST', url: path, headers: { cookie: '', 'content-type': 'application/x-www-form-urlencoded' }, payload: `nonce=${encodeURIComponent(nonce)}` })
  t.equal(stolen.statusCode, 403, 'a form nonce from a signed-in page does not work without its session')

  // The session also works for the API, and its unsafe calls need the CSRF token.
  t.equal((await gw.app.inject({ method: 'GET', url: '/v1/files', headers: { cookie: session } })).statusCode, 200, 'GET /v1 with the session')
  const noCsrf = await gw.app.inject({ method: 'POST', url: '/v1/tokens', headers: { cookie: session }, payload: { name: 'cli', scopes: ['files:read'] } })
  t.match(noCsrf.json(), { status: 403, code: 'LG_CSRF' }, 'an unsafe call without X-CSRF-Token')
  const me = await gw.app.inject({ method: 'GET', url: '/auth/session', headers: { cookie: session } })
  t.match(me.json(), { sub: 'ann', email: 'ann@example.com', groups: ['finance'] })
  const withCsrf = await gw.app.inject({ method: 'POST', url: '/v1/tokens', headers: { cookie: session, 'x-csrf-token': me.json().csrfToken }, payload: { name: 'cli', scopes: ['files:read'] } })
  t.equal(withCsrf.statusCode, 201, 'with it')
  const wrongCsrf = await gw.app.inject({ method: 'POST', url: '/v1/tokens', headers: { cookie: session, 'x-csrf-token': 'x'.repeat(43) }, payload: { name: 'cli', scopes: ['files:read'] } })
  t.equal(wrongCsrf.statusCode, 403, 'with a wrong one')
})

t.test('a signed-in browser on a public limited link: its form works too', async (t) => {
  const { gw } = await setup(t)
  const restricted = await shareFile(gw, 'authenticated')
  const { session } = await signIn(gw.app, restricted, 'ann')
  const up = await gw.app.inject({ method: 'POST', url: '/v1/files?share=true&maxDownloads=1', headers: { authorization: gw.auth('owner'), 'content-type': 'text/plain', 'x-filename': 'once.txt' }, payload: 'once' })
  const path = new URL(up.json().link.url as string).pathname
  const page = await gw.app.inject({ method: 'GET', url: path, headers: { accept: 'text/html', cookie: session } })
  t.equal(page.statusCode, 200)
  const nonce = /name="nonce" value="([^"]+)"/.exec(page.body)?.[1] ?? ''
  const post = await gw.app.inject({ method: 'POST', url: path, headers: { accept: 'text/html', cookie: session, 'content-type': 'application/x-www-form-urlencoded' }, payload: `nonce=${encodeURIComponent(nonce)}` })
  t.equal(post.statusCode, 303, 'the nonce of the page matches what its POST expects')
  t.match(gw.events.filter((e) => e.event === 'link.redeemed').at(-1), { sub: 'ann' }, 'and the redemption names who was signed in')
})

t.test('the session cookie: HttpOnly, SameSite=Lax, an absolute lifetime; Secure on https', async (t) => {
  const { gw } = await setup(t)
  const path = await shareFile(gw, 'authenticated')
  const start = await gw.app.inject({ method: 'GET', url: path, headers: { accept: 'text/html' } })
  const back = await loginAtProvider(start.headers.location as string, 'ann')
  const callback = await gw.app.inject({ method: 'GET', url: back.pathname + back.search, headers: { cookie: cookie(start, 'lg_signin') } })
  const session = callback.cookies.find((c) => c.name === 'lg_session')
  t.match(session, { path: '/', httpOnly: true, sameSite: 'Lax', maxAge: 3600 })
  t.notOk(session?.secure)
  t.notOk(JSON.stringify(callback.cookies).includes('ann'), 'sealed: nothing readable in the cookie')

  const https = await buildTestApp(t, {}, { ...settings((await setup(t)).provider), publicUrl: 'https://files.example.com' })
  const secure = await https.app.inject({ method: 'GET', url: '/auth/login?return=/', headers: { accept: 'text/html' } })
  t.equal(secure.cookies.find((c) => c.name === 'lg_signin')?.secure, true, 'Secure when PUBLIC_URL is https')
})

t.test('the session has an absolute lifetime: SESSION_TTL from the sign-in, whatever happens since', async (t) => {
  const { gw } = await setup(t)
  const user = { sub: 'ann', groups: [], email: null, csrf: 'c'.repeat(43) }
  const sealed = (signedInSecondsAgo: number): string =>
    `lg_session=${encodeURIComponent(gw.app.encodeSecureSession(gw.app.createSecureSession({ user, __ts: Math.round(Date.now() / 1000) - signedInSecondsAgo }), 'session'))}`
  const me = async (cookieHeader: string): Promise<number> => (await gw.app.inject({ method: 'GET', url: '/auth/session', headers: { cookie: cookieHeader } })).statusCode
  t.equal(await me(sealed(3600 - 60)), 200, 'a minute before its end')
  t.equal(await me(sealed(3600 + 1)), 401, 'a second after: signed out')
  const used = await gw.app.inject({ method: 'GET', url: '/v1/files', headers: { cookie: sealed(3600 - 60) } })
  t.notOk(used.cookies.some((c) => c.name === 'lg_session'), 'using a session never renews it')
})

t.test('any instance with the secret opens the session; rotation; a foreign key does not', async (t) => {
  const { provider, gw } = await setup(t)
  const path = await shareFile(gw, 'authenticated')
  const { session } = await signIn(gw.app, path, 'ann')
  const rotated = await buildTestApp(t, {}, { ...settings(provider), session: { secrets: ['a-new-secret-that-seals-from-now-on-000', SECRET], ttl: 3600 } })
  const me = await rotated.app.inject({ method: 'GET', url: '/auth/session', headers: { cookie: session } })
  t.equal(me.statusCode, 200, 'the second secret of the list still opens it')
  const foreign = await buildTestApp(t, {}, { ...settings(provider), session: { secrets: ['another-secret-entirely-0123456789abc'], ttl: 3600 } })
  t.equal((await foreign.app.inject({ method: 'GET', url: '/auth/session', headers: { cookie: session } })).statusCode, 401, 'another secret does not')
})

t.test('someone the link is not shared with sees it in words, with a way to switch account', async (t) => {
  const { gw } = await setup(t)
  const path = await shareFile(gw, { groups: ['finance'] })
  const { session } = await signIn(gw.app, path, 'bob')
  const page = await gw.app.inject({ method: 'GET', url: path, headers: { accept: 'text/html', cookie: session } })
  t.equal(page.statusCode, 403)
  t.match(page.body, /This link is not shared with you/)
  t.match(page.body, /Signed in as <strong>bob@other\.org<\/strong>/)
  t.ok(page.body.includes(`href="/auth/login?return=${encodeURIComponent(path)}&#38;prompt=login"`), 'switch account: sign in again, asked to log in')
  t.strictSame(gw.events.filter((e) => e.event === 'link.denied').map((e) => [e.reason, e.sub]), [['unauthenticated', null], ['forbidden', 'bob']],
    'the first visit (sent to sign in), then the refusal, naming bob')
  const api = await gw.app.inject({ method: 'GET', url: path, headers: { cookie: session } })
  t.equal(api.statusCode, 403, 'a non-browser gets the problem')
})

t.test('e-mail domains need a verified address', async (t) => {
  const { gw } = await setup(t)
  const path = await shareFile(gw, { domains: ['example.com'] })
  const ann = await signIn(gw.app, path, 'ann')
  t.equal((await gw.app.inject({ method: 'GET', url: path, headers: { accept: 'text/html', cookie: ann.session } })).statusCode, 200, 'verified ann@example.com')
  const eve = await signIn(gw.app, path, 'eve')
  t.equal((await gw.app.inject({ method: 'GET', url: path, headers: { accept: 'text/html', cookie: eve.session } })).statusCode, 403, 'unverified eve@example.com')
})

t.test('the callback refuses what it did not start, and says so', async (t) => {
  const { gw } = await setup(t)
  const path = await shareFile(gw, 'authenticated')
  const start = await gw.app.inject({ method: 'GET', url: path, headers: { accept: 'text/html' } })
  const back = await loginAtProvider(start.headers.location as string, 'ann')

  const noCookie = await gw.app.inject({ method: 'GET', url: back.pathname + back.search, headers: { accept: 'text/html' } })
  t.equal(noCookie.statusCode, 400, 'no sign-in in progress in this browser')
  t.match(noCookie.body, /Open the link again/)
  t.notOk(noCookie.cookies.some((c) => c.name === 'lg_session' && c.value !== ''), 'no session')

  const tampered = new URLSearchParams(back.search)
  tampered.set('state', 'x'.repeat(43))
  const badState = await gw.app.inject({ method: 'GET', url: `/auth/callback?${tampered.toString()}`, headers: { accept: 'text/html', cookie: cookie(start, 'lg_signin') } })
  t.equal(badState.statusCode, 400, 'a state that is not the one sent')
  t.notOk(badState.cookies.some((c) => c.name === 'lg_session' && c.value !== ''))

  const denied = await gw.app.inject({ method: 'GET', url: '/auth/callback?error=access_denied&state=x', headers: { accept: 'text/html', cookie: cookie(start, 'lg_signin') } })
  t.equal(denied.statusCode, 403, 'the provider refused')
  t.strictSame(gw.events.filter((e) => e.event === 'auth.sign_in_failed').map((e) => e.reason), ['no_sign_in', 'invalid_response', 'access_denied'], 'each failure audited')

  // The real return signs in once; replaying it (the same code, the same cookie) does not.
  const first = await gw.app.inject({ method: 'GET', url: back.pathname + back.search, headers: { accept: 'text/html', cookie: cookie(start, 'lg_signin') } })
  t.equal(first.statusCode, 303, 'the real return signs in')
  const replay = await gw.app.inject({ method: 'GET', url: back.pathname + back.search, headers: { accept: 'text/html', cookie: cookie(start, 'lg_signin') } })
  t.equal(replay.statusCode, 400, 'a replayed return does not sign in again: the provider takes a code once')
  t.notOk(replay.cookies.some((c) => c.name === 'lg_session' && c.value !== ''))
})

t.test('open redirects are impossible: the return target is a path on this gateway', async (t) => {
  const { gw } = await setup(t)
  for (const target of ['//evil.example/x', 'https://evil.example/', '/\\evil.example', 'evil.example', '/\r\nSet-Cookie: x=1', '/\t/evil.example', '']) {
    const res = await gw.app.inject({ method: 'GET', url: `/auth/login?return=${encodeURIComponent(target)}` })
    t.equal(res.statusCode, 400, JSON.stringify(target))
  }
  const ok = await gw.app.inject({ method: 'GET', url: `/auth/login?return=${encodeURIComponent('/s/abc?x=1')}` })
  t.equal(ok.statusCode, 302, 'a path with a query')
  t.equal((await gw.app.inject({ method: 'GET', url: '/auth/login?return=/&next=https://evil.example' })).statusCode, 400, 'an unknown parameter')
})

t.test('sign out: CSRF-checked, audited, ended at the provider too; then asked to sign in again', async (t) => {
  const { provider, gw } = await setup(t)
  const path = await shareFile(gw, 'authenticated')
  const { session } = await signIn(gw.app, path, 'ann')
  const csrf = (await gw.app.inject({ method: 'GET', url: '/auth/session', headers: { cookie: session } })).json().csrfToken as string

  const forged = await gw.app.inject({ method: 'POST', url: '/auth/logout', headers: { cookie: session, 'content-type': 'application/x-www-form-urlencoded' }, payload: 'csrf=forged' })
  t.equal(forged.statusCode, 403, 'another site cannot sign people out')
  t.equal((await gw.app.inject({ method: 'POST', url: '/auth/logout', headers: { cookie: session, 'content-type': 'application/x-www-form-urlencoded' }, payload: '' })).statusCode, 400, 'no token at all')

  const out = await gw.app.inject({ method: 'POST', url: '/auth/logout', headers: { cookie: session, 'content-type': 'application/x-www-form-urlencoded' }, payload: `csrf=${encodeURIComponent(csrf)}` })
  t.equal(out.statusCode, 303)
  const endSession = new URL(out.headers.location as string)
  t.equal(endSession.origin, provider.issuer, 'on to the provider (RP-initiated logout)')
  t.equal(endSession.searchParams.get('post_logout_redirect_uri'), 'http://gateway.test/auth/signed-out')
  const cleared = out.cookies.find((c) => c.name === 'lg_session')
  t.ok(cleared !== undefined && (cleared.value === '' || (cleared.maxAge ?? 1) <= 0 || (cleared.expires?.getTime() ?? Infinity) < Date.now()), 'the session cookie is cleared')
  t.match(gw.events.find((e) => e.event === 'auth.signed_out'), { sub: 'ann' })
  const page = await gw.app.inject({ method: 'GET', url: '/auth/signed-out' })
  t.match(page.body, /You are signed out/)

  const next = await gw.app.inject({ method: 'GET', url: path, headers: { accept: 'text/html' } })
  t.equal(next.statusCode, 302, 'without the cookie: asked to sign in again')

  // A sign-out posted with no session (another site's form): nothing to end, not even at the provider.
  const nobody = await gw.app.inject({ method: 'POST', url: '/auth/logout', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'csrf=x' })
  t.equal(nobody.headers.location, 'http://gateway.test/auth/signed-out', 'no session: straight to the signed-out page')
})

t.test('without sign-in configured, /auth is not there and restricted links ask for a token', async (t) => {
  const gw = await buildTestApp(t)
  t.equal((await gw.app.inject({ method: 'GET', url: '/auth/login' })).statusCode, 404)
  const path = await shareFile(gw, 'authenticated')
  const res = await gw.app.inject({ method: 'GET', url: path, headers: { accept: 'text/html' } })
  t.equal(res.statusCode, 401)
  t.match(res.body, /present a bearer token/)
})

// ---- Adversarial review of issue 16 (branch review-attack): each test names what it attacks.

/** The bytes a browser counts against its 4096-byte limit for one cookie: name=value, as sent. */
function cookieBytes (res: LightMyRequestResponse, name: string): number {
  const header = ([] as string[]).concat(res.headers['set-cookie'] ?? []).find((line) => line.startsWith(`${name}=`)) ?? ''
  return Buffer.byteLength(header.split(';')[0] ?? '')
}

t.test('attack: a session cookie stays under 4 KB whatever the groups, user id and e-mail (bytes, not characters)', async (t) => {
  const { gw } = await setup(t)
  for (const user of ['cyrillic', 'quoted', 's'.repeat(256)]) {
    const start = await gw.app.inject({ method: 'GET', url: '/auth/login?return=/' })
    const back = await loginAtProvider(start.headers.location as string, user)
    const callback = await gw.app.inject({ method: 'GET', url: back.pathname + back.search, headers: { cookie: cookie(start, 'lg_signin') } })
    t.equal(callback.statusCode, 303, `${user.slice(0, 10)}: signed in`)
    // A browser silently drops a larger cookie: the next visit is sent to sign in again, in a loop.
    t.ok(cookieBytes(callback, 'lg_session') <= 4096, `${user.slice(0, 10)}: lg_session is ${cookieBytes(callback, 'lg_session')} bytes, at most 4096`)
  }
})

t.test('attack: a return path outside latin1, or at the length limit, does not break the sign-in', async (t) => {
  const { gw } = await setup(t)
  const start = await gw.app.inject({ method: 'GET', url: `/auth/login?return=${encodeURIComponent('/s/€uro')}` })
  t.equal(start.statusCode, 302, 'the path is accepted')
  const back = await loginAtProvider(start.headers.location as string, 'ann')
  const callback = await gw.app.inject({ method: 'GET', url: back.pathname + back.search, headers: { cookie: cookie(start, 'lg_signin') } })
  t.equal(callback.statusCode, 303, 'back to it, not a 500 (a Location header outside latin1 throws ERR_INVALID_CHAR)')
  t.equal(callback.headers.location, '/s/%E2%82%ACuro', 'percent-encoded')

  // 2047 characters are allowed; two bytes each in UTF-8 they no longer fit in a cookie.
  const long = await gw.app.inject({ method: 'GET', url: `/auth/login?return=${encodeURIComponent('/' + 'é'.repeat(2047))}` })
  if (long.statusCode === 302) {
    t.ok(cookieBytes(long, 'lg_signin') <= 4096, `lg_signin is ${cookieBytes(long, 'lg_signin')} bytes, at most 4096 (a browser drops a larger one: "not started in this browser")`)
  } else {
    t.equal(long.statusCode, 400, 'or the return path is refused up front')
  }
})

t.test('attack: USER_CLAIM=email takes only a verified address as the user id', async (t) => {
  const { gw } = await setup(t, (provider) => ({ oidc: { ...(settings(provider).oidc as NonNullable<Config['oidc']>), userClaim: 'email' } }))
  const path = await shareFile(gw, 'authenticated')
  // mallory typed ann's address into her profile; the provider has not verified it.
  const start = await gw.app.inject({ method: 'GET', url: path, headers: { accept: 'text/html' } })
  const back = await loginAtProvider(start.headers.location as string, 'mallory')
  const callback = await gw.app.inject({ method: 'GET', url: back.pathname + back.search, headers: { accept: 'text/html', cookie: cookie(start, 'lg_signin') } })
  t.not(callback.statusCode, 303, 'an unverified address is not signed in as that address')
  t.notOk(callback.cookies.some((c) => c.name === 'lg_session' && c.value !== ''), 'no session')
  t.notOk(gw.events.some((e) => e.event === 'auth.signed_in' && e.sub === 'ann@example.com'), 'nobody became ann@example.com')
})

t.test('attack: form-action allows the provider only on pages that can sign out', async (t) => {
  const { provider, gw } = await setup(t)
  const formAction = (res: LightMyRequestResponse): string => /form-action ([^;]*)/.exec(res.headers['content-security-policy'] as string)?.[1] ?? ''
  // A public limited link, opened by nobody signed in: its page has a download form and no sign-out form.
  const up = await gw.app.inject({ method: 'POST', url: '/v1/files', headers: { authorization: gw.auth('owner'), 'content-type': 'text/plain', 'x-filename': 'a.txt' }, payload: 'a' })
  const link = await gw.app.inject({ method: 'POST', url: `/v1/files/${up.json().id as string}/links`, headers: { authorization: gw.auth('owner') }, payload: { maxDownloads: 1 } })
  const page = await gw.app.inject({ method: 'GET', url: new URL(link.json().url as string).pathname, headers: { accept: 'text/html' } })
  t.equal(page.statusCode, 200)
  t.notOk(formAction(page).includes(provider.issuer), `nothing on the page leads to the provider: form-action ${formAction(page)}`)
})

t.test('holds: the callback never echoes what it is sent; user bytes are escaped in pages', async (t) => {
  const { gw } = await setup(t)
  const start = await gw.app.inject({ method: 'GET', url: '/auth/login?return=/' })
  const injected = await gw.app.inject({ method: 'GET', url: `/auth/callback?error=${encodeURIComponent('<script>x</script>')}&error_description=${encodeURIComponent('<script>alert(1)</script>')}&state=${encodeURIComponent('"><script>')}`, headers: { accept: 'text/html', cookie: cookie(start, 'lg_signin') } })
  t.equal(injected.statusCode, 403)
  t.notOk(injected.body.includes('<script'), 'neither error nor error_description is in the page')
  t.match(injected.headers['content-security-policy'], /default-src 'none'/)

  const path = await shareFile(gw, { groups: ['finance'] })
  const { session } = await signIn(gw.app, path, '<script>alert(1)</script>')
  const page = await gw.app.inject({ method: 'GET', url: path, headers: { accept: 'text/html', cookie: session } })
  t.equal(page.statusCode, 403, 'not shared with this user')
  t.notOk(/<script|<img/.test(page.body), 'the user id, e-mail and groups appear escaped, if at all')
  t.match(page.body, /&#60;img src=x onerror=alert\(1\)&#62;@example\.com/, 'the e-mail, escaped')
})
