// A real OpenID Provider (oidc-provider, the certified server implementation) on a loopback
// port, with a test client and test users: what the identity tests sign in with and verify
// tokens of. Its dev interactions serve the login page (any password); consent is granted
// up front, so a sign-in is: the login page, then back to the gateway.
import { exportJWK, generateKeyPair, SignJWT, type JWK, type JWTPayload } from 'jose'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import Provider, { type Configuration, type KoaContextWithOIDC } from 'oidc-provider'
import type { OidcConfig } from '../../src/config.js'
import type { Teardown } from './teardown.js'

export interface TestUser { email?: string, email_verified?: boolean, groups?: string[], name?: string }

export interface SigningKey { kid: string, privateKey: Awaited<ReturnType<typeof generateKeyPair>>['privateKey'], jwk: JWK }

export interface TestProvider {
  issuer: string
  clientId: string
  clientSecret: string
  /** The audience its access tokens carry (JWT_AUDIENCE of the gateway under test). */
  audience: string
  /** Signs a token with the provider's current key: iss, aud, iat and exp filled in unless given. */
  sign: (claims: JWTPayload, options?: { key?: SigningKey, alg?: string, kid?: string }) => Promise<string>
  /** An access token the provider itself issues (client credentials grant, a JWT for `audience`). */
  issueToken: () => Promise<string>
  /** The key it signs with now. */
  currentKey: () => SigningKey
  /** Publishes a new signing key first (the old ones are still published), restarting on the same port. */
  rotate: (alg?: string) => Promise<SigningKey>
  stop: () => Promise<void>
  start: () => Promise<void>
  /** Requests for its JWKS so far. */
  jwksFetches: () => number
}

export async function newSigningKey (alg = 'RS256'): Promise<SigningKey> {
  const { privateKey } = await generateKeyPair(alg, { extractable: true })
  const kid = `key-${Math.random().toString(36).slice(2, 10)}`
  return { kid, privateKey, jwk: { ...await exportJWK(privateKey), kid, alg, use: 'sig' } }
}

export interface ProviderOptions {
  /** Where the gateway under test is (for its redirect URIs). */
  gatewayUrl?: string
  users?: Record<string, TestUser>
  port?: number
}

export async function startProvider (t: Teardown, options: ProviderOptions = {}): Promise<TestProvider> {
  const users = options.users ?? {}
  const gatewayUrl = options.gatewayUrl ?? 'http://gateway.test'
  const clientId = 'linkgate'
  const clientSecret = 'linkgate-test-client-secret-0123456789'
  const audience = 'https://linkgate.test/api'
  const keys: SigningKey[] = [await newSigningKey()]
  let fetches = 0
  let server: Server | null = null
  let port = options.port ?? 0
  let issuer = ''

  const configuration = (): Configuration => ({
    clients: [{
      client_id: clientId,
      client_secret: clientSecret,
      redirect_uris: [`${gatewayUrl}/auth/callback`],
      post_logout_redirect_uris: [`${gatewayUrl}/auth/signed-out`],
      grant_types: ['authorization_code', 'client_credentials'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_post'
    }],
    jwks: { keys: keys.map((k) => k.jwk) as never },
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'], groups: ['groups'] },
    scopes: ['openid', 'email', 'profile', 'groups'],
    // The scopes' claims go into the ID token itself (the gateway reads no userinfo).
    conformIdTokenClaims: false,
    findAccount: async (_ctx: KoaContextWithOIDC, sub: string) => ({
      accountId: sub,
      claims: async () => ({ sub, ...(users[sub] ?? {}) })
    }),
    // Consent is granted up front: a sign-in is the login page only.
    loadExistingGrant: async (ctx: KoaContextWithOIDC) => {
      const { oidc } = ctx
      const existing = oidc.session?.grantIdFor(oidc.client?.clientId ?? '')
      if (existing !== undefined) return await oidc.provider.Grant.find(existing)
      const grant = new oidc.provider.Grant({ clientId: oidc.client?.clientId ?? '', accountId: oidc.session?.accountId ?? '' })
      grant.addOIDCScope('openid email profile groups')
      await grant.save()
      return grant
    },
    features: {
      devInteractions: { enabled: true },
      clientCredentials: { enabled: true },
      rpInitiatedLogout: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: async () => audience,
        useGrantedResource: async () => true,
        getResourceServerInfo: async () => ({ scope: 'api', audience, accessTokenFormat: 'jwt', jwt: { sign: { alg: 'RS256' } } })
      }
    },
    pkce: { required: () => true },
    ttl: { AccessToken: 600, ClientCredentials: 600, IdToken: 600, Interaction: 600, Session: 3600, Grant: 3600 }
  })

  async function start (): Promise<void> {
    const provider = new Provider(issuer === '' ? 'http://127.0.0.1' : issuer, configuration())
    const callback = provider.callback()
    server = createServer((req, res) => {
      if (req.url?.startsWith('/jwks') === true) fetches++
      callback(req, res)
    })
    const listening = server
    await new Promise<void>((resolve, reject) => {
      listening.once('error', reject)
      listening.listen(port, '127.0.0.1', () => { resolve() })
    })
    port = (listening.address() as AddressInfo).port
    if (issuer === '') {
      // The issuer names the port, known only now: start again under it.
      issuer = `http://127.0.0.1:${port}`
      await stop()
      await start()
    }
  }

  async function stop (): Promise<void> {
    const running = server
    server = null
    if (running === null) return
    running.closeAllConnections()
    await new Promise<void>((resolve) => { running.close(() => { resolve() }) })
  }

  await start()
  t.teardown(stop)

  const currentKey = (): SigningKey => keys[0] as SigningKey
  return {
    get issuer () { return issuer },
    clientId,
    clientSecret,
    audience,
    currentKey,
    async sign (claims, options = {}) {
      const key = options.key ?? currentKey()
      const now = Math.floor(Date.now() / 1000)
      return await new SignJWT({ iss: issuer, aud: audience, iat: now, exp: now + 600, ...claims })
        .setProtectedHeader({ alg: options.alg ?? 'RS256', kid: options.kid ?? key.kid, typ: 'JWT' })
        .sign(key.privateKey)
    },
    async issueToken () {
      const response = await fetch(`${issuer}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret, scope: 'api', resource: audience })
      })
      const body = await response.json() as { access_token?: string, error?: string }
      if (body.access_token === undefined) throw new Error(`the provider issued no token: ${JSON.stringify(body)}`)
      return body.access_token
    },
    async rotate (alg) {
      const key = await newSigningKey(alg)
      keys.unshift(key)
      await stop()
      await start()
      return key
    },
    stop,
    start,
    jwksFetches: () => fetches
  }
}

/**
 * Signs `login` in at the provider the way a browser would (following its redirects, with
 * its cookies, through the login page's form), starting from the authorization URL the
 * gateway redirected to. Returns the URL the provider sends the browser back to.
 */
export async function loginAtProvider (authorizationUrl: string, login: string): Promise<URL> {
  const jar = new Map<string, string>()
  const send = async (url: URL, init: RequestInit = {}): Promise<Response> => {
    const cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ')
    const response = await fetch(url, { ...init, redirect: 'manual', headers: { ...(init.headers as Record<string, string> ?? {}), ...(cookie === '' ? {} : { cookie }) } })
    for (const line of response.headers.getSetCookie()) {
      const [pair = ''] = line.split(';')
      const eq = pair.indexOf('=')
      jar.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim())
    }
    return response
  }
  let url = new URL(authorizationUrl)
  const provider = url.origin
  for (let hop = 0; hop < 10; hop++) {
    const response = await send(url)
    if (response.status >= 300 && response.status < 400) {
      url = new URL(response.headers.get('location') ?? '', url)
      if (url.origin !== provider) return url
      continue
    }
    const page = await response.text()
    const action = /<form[^>]*action="([^"]+)"/.exec(page)?.[1]
    if (action === undefined || !page.includes('name="login"')) throw new Error(`unexpected page at the provider (${response.status}): ${page.slice(0, 200)}`)
    const posted = await send(new URL(action, url), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ prompt: 'login', login, password: 'any' }).toString()
    })
    url = new URL(posted.headers.get('location') ?? '', url)
    if (url.origin !== provider) return url
  }
  throw new Error('too many redirects at the provider')
}

/** The gateway's OIDC settings for `provider`: bearer tokens, and browser sign-in with its test client when `signIn`. */
export function gatewayOidc (provider: TestProvider, { signIn = false, ...over }: Partial<Omit<OidcConfig, 'signIn'>> & { signIn?: boolean } = {}): OidcConfig {
  return {
    issuer: provider.issuer,
    audience: provider.audience,
    userClaim: 'sub',
    groupsClaim: 'groups',
    jwksCooldown: 30,
    signIn: signIn ? { clientId: provider.clientId, clientSecret: provider.clientSecret, scopes: 'openid email profile groups' } : null,
    ...over
  }
}
