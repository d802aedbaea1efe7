// Bearer JWTs of the organisation's identity provider, checked against its published keys:
// a real OpenID Provider (oidc-provider) on loopback issues and publishes them.
import { CompactSign, SignJWT } from 'jose'
import { setTimeout as delay } from 'node:timers/promises'
import t from 'tap'
import type { Config } from '../../src/config.js'
import { buildTestApp, type TestApp } from '../helpers/app.js'
import { gatewayOidc, newSigningKey, startProvider, type TestProvider } from '../helpers/oidc.js'
import { poll } from '../helpers/wait.js'

/** Waits out a cooldown of one second (OIDC_JWKS_COOLDOWN=1): what is tested is a timer. */
async function cooldownOver (): Promise<void> {
  await delay(1100)
}

async function gateway (tt: Parameters<typeof buildTestApp>[0], provider: TestProvider, over: Parameters<typeof gatewayOidc>[1] = {}, config: Partial<Config> = {}): Promise<TestApp> {
  return await buildTestApp(tt, {}, { oidc: gatewayOidc(provider, over), ...config })
}

async function files (gw: TestApp, token: string): Promise<{ status: number, code?: string, detail?: string }> {
  const res = await gw.app.inject({ method: 'GET', url: '/v1/files', headers: { authorization: `Bearer ${token}` } })
  const body = res.json() as { code?: string, detail?: string }
  return { status: res.statusCode, ...(body.code === undefined ? {} : { code: body.code, detail: body.detail }) }
}

t.test('tokens the provider issues are accepted, and name their user by USER_CLAIM', async (t) => {
  const provider = await startProvider(t)
  const gw = await gateway(t, provider)
  // A token the provider itself issued (client credentials: its sub is the client id).
  const issued = await provider.issueToken()
  t.equal((await files(gw, issued)).status, 200, 'an access token the provider issued')
  const upload = await gw.app.inject({ method: 'POST', url: '/v1/files', headers: { authorization: `Bearer ${await provider.sign({ sub: 'u-1' })}`, 'content-type': 'application/octet-stream', 'x-filename': 'a.txt' }, payload: 'hello' })
  t.equal(upload.statusCode, 201)
  const listed = await gw.app.inject({ method: 'GET', url: '/v1/files', headers: { authorization: `Bearer ${await provider.sign({ sub: 'u-1' })}` } })
  t.equal(listed.json().items.length, 1, 'the upload belongs to the token\'s sub')
  const other = await gw.app.inject({ method: 'GET', url: '/v1/files', headers: { authorization: `Bearer ${issued}` } })
  t.equal(other.json().items.length, 0, 'and not to another user')

  const byEmail = await gateway(t, provider, { userClaim: 'email' })
  t.equal((await files(byEmail, await provider.sign({ sub: 'u-2', email: 'ann@example.com', email_verified: true }))).status, 200, 'USER_CLAIM=email')
  const missing = await files(byEmail, await provider.sign({ sub: 'u-2' }))
  t.match(missing, { status: 401, detail: /"email" claim/ }, 'a token without the user claim is refused, saying which claim')
})

t.test('every way a token can be wrong is a 401', async (t) => {
  const provider = await startProvider(t)
  const second = await startProvider(t)
  const gw = await gateway(t, provider)
  const now = Math.floor(Date.now() / 1000)
  const cases: Array<[string, Promise<string>, RegExp?]> = [
    ['wrong issuer', provider.sign({ sub: 'u', iss: 'https://evil.example' }), /"iss"/],
    ['wrong audience', provider.sign({ sub: 'u', aud: 'another-api' }), /"aud"/],
    ['expired', provider.sign({ sub: 'u', iat: now - 3600, exp: now - 600 }), /expired/],
    ['not yet valid (nbf)', provider.sign({ sub: 'u', nbf: now + 600 }), /"nbf"/],
    ['issued in the future', provider.sign({ sub: 'u', iat: now + 600, exp: now + 1200 }), /future/],
    ['without exp', new SignJWT({ sub: 'u', iss: provider.issuer, aud: provider.audience }).setProtectedHeader({ alg: 'RS256', kid: provider.currentKey().kid }).sign(provider.currentKey().privateKey)],
    ['unknown kid', (async () => await provider.sign({ sub: 'u' }, { key: await newSigningKey() }))()],
    ['a second provider\'s token', second.sign({ sub: 'u' })],
    ['a second provider\'s key, with this issuer', second.sign({ sub: 'u', iss: provider.issuer })],
    ['alg none', Promise.resolve(`${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${Buffer.from(JSON.stringify({ sub: 'u', iss: provider.issuer, aud: provider.audience, exp: now + 600 })).toString('base64url')}.`)],
    ['garbage', Promise.resolve('not.a.jwt')]
  ]
  for (const [name, token, detail] of cases) {
    const result = await files(gw, await token)
    t.equal(result.status, 401, name)
    if (detail !== undefined) t.match(result.detail, detail, `${name}: says why`)
  }

  // The classic confusion: an HS256 token whose secret is the provider's public key.
  const publicJwk = JSON.stringify({ ...provider.currentKey().jwk, d: undefined, p: undefined, q: undefined, dp: undefined, dq: undefined, qi: undefined })
  const confused = await new SignJWT({ sub: 'u', iss: provider.issuer, aud: provider.audience, exp: now + 600 })
    .setProtectedHeader({ alg: 'HS256', kid: provider.currentKey().kid }).sign(new TextEncoder().encode(publicJwk))
  t.equal((await files(gw, confused)).status, 401, 'HS256 signed with the public key, JWT_SECRET also accepted')
  const oidcOnly = await gateway(t, provider, {}, { acceptHs256: false })
  t.equal((await files(oidcOnly, confused)).status, 401, 'HS256 signed with the public key, OIDC only')
  t.equal((await oidcOnly.app.inject({ method: 'GET', url: '/v1/files', headers: { authorization: oidcOnly.auth('u') } })).statusCode, 401,
    'without JWT_SECRET, the gateway\'s own HS256 tokens are refused')
  t.equal((await files(oidcOnly, await provider.sign({ sub: 'u' }))).status, 200, 'and the provider\'s accepted')
  t.equal((await gw.app.inject({ method: 'GET', url: '/v1/files', headers: { authorization: gw.auth('u') } })).statusCode, 200,
    'with both set, both are accepted')

  // Each allowed algorithm, published by the provider.
  for (const alg of ['PS256', 'ES256', 'EdDSA']) {
    const key = await provider.rotate(alg)
    // A gateway that fetches the keys after the rotation (no cooldown to wait for).
    const fresh = await gateway(t, provider)
    t.equal((await files(fresh, await provider.sign({ sub: 'u' }, { key, alg }))).status, 200, alg)
  }
})

t.test('an unknown kid refetches the keys at most once per cooldown, whatever the flood', async (t) => {
  const provider = await startProvider(t)
  const gw = await gateway(t, provider, { jwksCooldown: 1 })
  t.equal((await files(gw, await provider.sign({ sub: 'u' }))).status, 200)
  await cooldownOver()
  const before = provider.jwksFetches()
  const flood = await Promise.all(Array.from({ length: 50 }, async () => await files(gw, await provider.sign({ sub: 'u' }, { kid: `random-${Math.random()}` }))))
  t.ok(flood.every((r) => r.status === 401), 'fifty tokens with random kids: all refused')
  t.equal(provider.jwksFetches() - before, 1, 'the provider\'s keys were fetched once, not fifty times')
  const again = await Promise.all(Array.from({ length: 20 }, async () => await files(gw, await provider.sign({ sub: 'u' }, { kid: `random-${Math.random()}` }))))
  t.ok(again.every((r) => r.status === 401))
  t.equal(provider.jwksFetches() - before, 1, 'and not again within the cooldown')
})

t.test('key rotation works without a restart', async (t) => {
  const provider = await startProvider(t)
  // A cooldown of a second: the test waits for one cooldown, never 30 s.
  const gw = await gateway(t, provider, { jwksCooldown: 1 })
  const oldKey = provider.currentKey()
  t.equal((await files(gw, await provider.sign({ sub: 'u' }))).status, 200, 'before rotation')
  const newKey = await provider.rotate()
  t.not(newKey.kid, oldKey.kid)
  // Within the cooldown of the first fetch a new kid may be refused; once it is over, the
  // gateway fetches the keys again and accepts it.
  const rotated = await poll(async () => await files(gw, await provider.sign({ sub: 'u' }, { key: newKey })), (r) => r.status === 200, { timeoutMs: 10_000, intervalMs: 200 })
  t.equal(rotated.status, 200, 'a token signed with the new key')
  t.equal((await files(gw, await provider.sign({ sub: 'u' }, { key: oldKey }))).status, 200, 'the old key, still published, still works')
})

t.test('the provider down: cached keys keep working, an unfetchable key is a 503, /readyz reports it', async (t) => {
  const provider = await startProvider(t)
  const gw = await gateway(t, provider, { jwksCooldown: 1 })
  t.equal((await files(gw, await provider.sign({ sub: 'u' }))).status, 200)
  const ready = await gw.app.inject({ method: 'GET', url: '/readyz' })
  t.equal(ready.json().checks.identityProvider, 'ok')
  await provider.stop()
  t.equal((await files(gw, await provider.sign({ sub: 'u' }))).status, 200, 'a cached key keeps verifying')
  await cooldownOver()
  const unknown = await files(gw, await provider.sign({ sub: 'u' }, { key: await newSigningKey() }))
  t.match(unknown, { status: 503, code: 'LG_DEPENDENCY_UNAVAILABLE' }, 'a key that cannot be fetched: 503, not 401')
  // Readiness is cached for a moment: wait for a fresh answer.
  const statuses = new Set<number>()
  const ready2 = await poll(async () => {
    const res = await gw.app.inject({ method: 'GET', url: '/readyz' })
    statuses.add(res.statusCode)
    return res.json().checks as Record<string, string>
  }, (checks) => checks.identityProvider === 'unavailable', { timeoutMs: 10_000, intervalMs: 300 })
  t.equal(ready2.identityProvider, 'unavailable', '/readyz reports it')
  t.strictSame([...statuses], [200], 'the provider being down never makes the instance unready')
  await provider.start()
  t.equal((await files(gw, await provider.sign({ sub: 'u' }))).status, 200, 'and back')
})

t.test('a provider down at start: the gateway starts, its tokens get 503 until it is up', async (t) => {
  const provider = await startProvider(t)
  await provider.stop()
  const gw = await gateway(t, provider, { jwksCooldown: 1 })
  t.equal((await gw.app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200, 'the gateway is up')
  t.match(await files(gw, await provider.sign({ sub: 'u' })), { status: 503 }, 'a provider token: 503')
  t.equal((await gw.app.inject({ method: 'GET', url: '/v1/files', headers: { authorization: gw.auth('u') } })).statusCode, 200, 'its own tokens still work')
  await provider.start()
  const up = await poll(async () => await files(gw, await provider.sign({ sub: 'u' })), (r) => r.status === 200, { timeoutMs: 10_000, intervalMs: 200 })
  t.equal(up.status, 200, 'once the provider is up, after the cooldown')
})

// ---- Adversarial review of issue 16 (branch review-attack): each test names what it attacks.

t.test('attack: USER_CLAIM=email takes only a verified address as the user id', async (t) => {
  const provider = await startProvider(t)
  const byEmail = await gateway(t, provider, { userClaim: 'email' })
  // Anyone who can type an address into a profile (self sign-up, an editable e-mail) would
  // otherwise become that address: its files, links and tokens.
  const unverified = await files(byEmail, await provider.sign({ sub: 'mallory', email: 'ann@example.com', email_verified: false }))
  t.equal(unverified.status, 401, 'email_verified: false is no user id')
  const unsaid = await files(byEmail, await provider.sign({ sub: 'mallory', email: 'ann@example.com' }))
  t.equal(unsaid.status, 401, 'nor an address the token does not say is verified')
  t.equal((await files(byEmail, await provider.sign({ sub: 'ann', email: 'ann@example.com', email_verified: true }))).status, 200, 'a verified one is')
})

t.test('attack: the Authorization header is read the same way whatever kind of token it carries', async (t) => {
  const provider = await startProvider(t)
  const gw = await gateway(t, provider)
  const own = gw.auth('u').slice('Bearer '.length)
  const theirs = await provider.sign({ sub: 'u' })
  for (const [name, format] of [
    ['two spaces', (x: string) => `Bearer  ${x}`],
    ['a trailing space', (x: string) => `Bearer ${x} `],
    ['lower-case scheme', (x: string) => `bearer ${x}`]
  ] as const) {
    const ownStatus = (await gw.app.inject({ method: 'GET', url: '/v1/files', headers: { authorization: format(own) } })).statusCode
    const theirStatus = (await gw.app.inject({ method: 'GET', url: '/v1/files', headers: { authorization: format(theirs) } })).statusCode
    t.equal(ownStatus, theirStatus, `${name}: an HS256 JWT (${ownStatus}) and a provider JWT (${theirStatus}) get the same answer`)
  }
})

t.test('holds: header games (crit, jku, jwk, x5u, cty, nested JWT, aud arrays) give nothing away', async (t) => {
  const provider = await startProvider(t)
  const gw = await gateway(t, provider)
  const key = provider.currentKey()
  const now = Math.floor(Date.now() / 1000)
  const claims = { sub: 'u', iss: provider.issuer, aud: provider.audience, exp: now + 600 }
  const attacker = await newSigningKey()
  const attackerPublic = { ...attacker.jwk, d: undefined, p: undefined, q: undefined, dp: undefined, dq: undefined, qi: undefined }
  const cases: Array<[string, string]> = [
    ['an unknown crit extension', await new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: key.kid, crit: ['x-ignore-me'], 'x-ignore-me': true }).sign(key.privateKey, { crit: { 'x-ignore-me': true } })],
    ['jku and x5u naming the attacker\'s keys', await new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: attacker.kid, jku: 'http://127.0.0.1:9/jwks', x5u: 'http://127.0.0.1:9/cert' }).sign(attacker.privateKey)],
    ['the attacker\'s key embedded (jwk)', await new SignJWT(claims).setProtectedHeader({ alg: 'RS256', jwk: attackerPublic as never }).sign(attacker.privateKey)],
    ['the attacker\'s key embedded under the provider\'s kid', await new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: key.kid, jwk: attackerPublic as never }).sign(attacker.privateKey)],
    ['a nested JWT: the provider\'s signature over an attacker\'s token (cty: JWT)', await new CompactSign(new TextEncoder().encode(await new SignJWT({ ...claims, sub: 'admin' }).setProtectedHeader({ alg: 'RS256', kid: attacker.kid }).sign(attacker.privateKey))).setProtectedHeader({ alg: 'RS256', kid: key.kid, cty: 'JWT' }).sign(key.privateKey)],
    ['kid with path traversal', await provider.sign({ sub: 'u' }, { kid: '../../../../dev/null' })]
  ]
  for (const [name, token] of cases) t.equal((await files(gw, token)).status, 401, name)
  // aud an array that contains the audience: accepted, as RFC 7519 says; azp is not a gateway concern for access tokens.
  t.equal((await files(gw, await provider.sign({ sub: 'u', aud: ['another-api', provider.audience], azp: 'another-client' }))).status, 200, 'aud array containing JWT_AUDIENCE')
  t.equal((await files(gw, await provider.sign({ sub: 'u', aud: ['another-api'] }))).status, 401, 'aud array without it')
})

t.test('holds: a flood of unknown kids while the provider is down is a 503 for each, fetched at most once per cooldown', async (t) => {
  const provider = await startProvider(t)
  const gw = await gateway(t, provider, { jwksCooldown: 1 })
  t.equal((await files(gw, await provider.sign({ sub: 'u' }))).status, 200, 'keys fetched')
  await provider.stop()
  await cooldownOver()
  const started = Date.now()
  const flood = await Promise.all(Array.from({ length: 200 }, async () => await files(gw, await provider.sign({ sub: 'u' }, { kid: `random-${Math.random()}` }))))
  t.ok(flood.every((r) => r.status === 503), 'two hundred unknown kids: 503 each, never a 401 or a 500')
  t.ok(Date.now() - started < 5000, 'answered without waiting on the provider once per request')
  t.equal((await files(gw, await provider.sign({ sub: 'u' }))).status, 200, 'the cached key still verifies meanwhile')
})
