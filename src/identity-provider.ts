// The organisation's OpenID Provider: its discovery document, its keys (to verify the
// bearer JWTs it issues) and, when a client is configured, browser sign-in with the
// Authorization Code flow and PKCE. jose verifies tokens; openid-client runs the flow.
// Nothing here makes the gateway depend on the provider being up: discovery is retried
// on demand, and keys once fetched keep working while it is down.
import { createLocalJWKSet, createRemoteJWKSet, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey, type RemoteJWKSet } from 'jose'
import * as oidc from 'openid-client'
import type { OidcConfig } from './config.js'

/** Asymmetric only: never `none`, never an HS* token verified with a public key. */
export const PROVIDER_ALGORITHMS = ['RS256', 'PS256', 'ES256', 'EdDSA']
/** Clocks of issuers and gateways differ a little: exp, nbf and iat are checked with this slack. */
export const CLOCK_TOLERANCE_S = 30
/** A fetched key set is used for this long before it is fetched again (and for ever while the provider is down). */
const KEYS_MAX_AGE_MS = 10 * 60_000
const FETCH_TIMEOUT_MS = 5000

/** The provider cannot be reached (or has not been yet): the token may be good, try again later. */
export class ProviderUnavailable extends Error {
  constructor (cause?: unknown) {
    super('The identity provider is unavailable', { cause })
    this.name = 'ProviderUnavailable'
  }
}

/** Why a provider's token was refused, in words for whoever sent it. */
export class InvalidToken extends Error {
  constructor (message: string, readonly reason: 'expired_token' | 'invalid_token') {
    super(message)
    this.name = 'InvalidToken'
  }
}

export interface SignInStart { url: URL, state: string, nonce: string, codeVerifier: string }

export class IdentityProvider {
  #config: oidc.Configuration | null = null
  #discovering: Promise<oidc.Configuration> | null = null
  #keys: RemoteJWKSet | null = null
  /** When discovery or a key fetch last failed (ms); nothing is fetched again within the cooldown. */
  #failedAt = -Infinity
  #lastError: unknown = null
  readonly #cooldownMs: number

  constructor (readonly settings: OidcConfig, private readonly redirectUri: string) {
    this.#cooldownMs = settings.jwksCooldown * 1000
  }

  /** Discovers the provider; a failure is retried when next needed (at most once per cooldown). */
  async start (): Promise<void> {
    await this.#discover()
  }

  /** The last reason the provider could not be reached, or null. */
  get lastError (): unknown { return this.#lastError }

  /** The provider's metadata, discovered once (retried at most once per cooldown while it fails). */
  async #discover (): Promise<oidc.Configuration> {
    if (this.#config !== null) return this.#config
    if (this.#discovering === null) {
      if (Date.now() - this.#failedAt < this.#cooldownMs) throw new ProviderUnavailable(this.#lastError)
      this.#discovering = this.#attemptDiscovery().finally(() => { this.#discovering = null })
    }
    return await this.#discovering
  }

  async #attemptDiscovery (): Promise<oidc.Configuration> {
    const { issuer, signIn, audience } = this.settings
    const url = new URL(issuer)
    try {
      const config = await oidc.discovery(url, signIn?.clientId ?? audience, undefined,
        signIn?.clientSecret == null ? oidc.None() : oidc.ClientSecretPost(signIn.clientSecret),
        { ...(url.protocol === 'http:' ? { execute: [oidc.allowInsecureRequests] } : {}), timeout: FETCH_TIMEOUT_MS / 1000 })
      const jwksUri = config.serverMetadata().jwks_uri
      if (jwksUri === undefined) throw new Error('the discovery document names no jwks_uri')
      this.#keys = createRemoteJWKSet(new URL(jwksUri), { cooldownDuration: this.#cooldownMs, cacheMaxAge: KEYS_MAX_AGE_MS, timeoutDuration: FETCH_TIMEOUT_MS })
      this.#config = config
      return config
    } catch (err) {
      this.#fail(err)
      throw new ProviderUnavailable(err)
    }
  }

  #fail (err: unknown): void {
    this.#failedAt = Date.now()
    this.#lastError = err
  }

  /**
   * The key for a token: from the provider's key set, fetched again when it is old or the
   * `kid` is unknown (at most once per cooldown, failed fetches included); while the
   * provider cannot be reached, from the keys last fetched. A key that cannot be had at
   * all is ProviderUnavailable, never "invalid".
   */
  readonly #key: JWTVerifyGetKey = async (header, input) => {
    await this.#discover()
    const keys = this.#keys as RemoteJWKSet
    if (Date.now() - this.#failedAt >= this.#cooldownMs) {
      try {
        return await keys(header, input)
      } catch (err) {
        if (err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWKSMultipleMatchingKeys) throw err
        this.#fail(err)
      }
    }
    const cached = keys.jwks()
    if (cached === undefined) throw new ProviderUnavailable(this.#lastError)
    try {
      return await createLocalJWKSet(cached)(header, input)
    } catch (err) {
      if (err instanceof errors.JWKSNoMatchingKey) throw new ProviderUnavailable(this.#lastError)
      throw err
    }
  }

  /** The verified claims of a token the provider issued for this gateway; throws InvalidToken or ProviderUnavailable. */
  async verify (token: string): Promise<JWTPayload> {
    try {
      const { payload } = await jwtVerify(token, this.#key, {
        issuer: this.settings.issuer,
        audience: this.settings.audience,
        algorithms: PROVIDER_ALGORITHMS,
        requiredClaims: ['exp'],
        clockTolerance: CLOCK_TOLERANCE_S
      })
      // jose checks `iat` only against a maxTokenAge: a token issued in the future is refused here.
      if (typeof payload.iat === 'number' && payload.iat > Date.now() / 1000 + CLOCK_TOLERANCE_S) {
        throw new InvalidToken('The token was issued in the future ("iat"): check the clock of whoever signed it', 'invalid_token')
      }
      return payload
    } catch (err) {
      if (err instanceof ProviderUnavailable || err instanceof InvalidToken) throw err
      if (err instanceof errors.JWTExpired) throw new InvalidToken('The token has expired', 'expired_token')
      if (err instanceof errors.JWTClaimValidationFailed) throw new InvalidToken(`The token's "${err.claim}" claim is not valid here`, 'invalid_token')
      throw new InvalidToken('The bearer token is invalid', 'invalid_token')
    }
  }

  /** For readiness: fetches the key set again (at most once per cooldown); never throws. */
  async check (): Promise<'ok' | 'unavailable'> {
    if (Date.now() - this.#failedAt < this.#cooldownMs) return 'unavailable'
    try {
      await this.#discover()
      const keys = this.#keys as RemoteJWKSet
      if (!keys.coolingDown) await keys.reload()
      return 'ok'
    } catch (err) {
      if (!(err instanceof ProviderUnavailable)) this.#fail(err)
      return 'unavailable'
    }
  }

  /** Where to send a browser to sign in, and what to remember to check its return. */
  async beginSignIn (options: { prompt?: string } = {}): Promise<SignInStart> {
    const config = await this.#discover()
    const signIn = this.settings.signIn
    if (signIn === null) throw new Error('browser sign-in is not configured (OIDC_CLIENT_ID)')
    const codeVerifier = oidc.randomPKCECodeVerifier()
    const state = oidc.randomState()
    const nonce = oidc.randomNonce()
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: this.redirectUri,
      scope: signIn.scopes,
      code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
      state,
      nonce,
      ...(options.prompt === undefined ? {} : { prompt: options.prompt })
    })
    return { url, state, nonce, codeVerifier }
  }

  /** The verified ID token claims of a browser's return to the callback; throws on any mismatch. */
  async finishSignIn (callbackUrl: URL, expected: { state: string, nonce: string, codeVerifier: string }): Promise<Record<string, unknown>> {
    const config = await this.#discover()
    let tokens
    try {
      tokens = await oidc.authorizationCodeGrant(config, callbackUrl, {
        pkceCodeVerifier: expected.codeVerifier,
        expectedState: expected.state,
        expectedNonce: expected.nonce,
        idTokenExpected: true
      })
    } catch (err) {
      // The token endpoint (or the keys) could not be reached: not the browser's fault.
      if (err instanceof TypeError || (err as { cause?: unknown }).cause instanceof TypeError) {
        this.#fail(err)
        throw new ProviderUnavailable(err)
      }
      throw err
    }
    const claims = tokens.claims()
    if (claims === undefined) throw new Error('the provider returned no ID token')
    return claims
  }

  /** The provider's origins a page's form may lead to (signing out ends there), as far as known. */
  origins (): string[] {
    const endSession = this.#config?.serverMetadata().end_session_endpoint
    return [...new Set([new URL(this.settings.issuer).origin, ...(endSession === undefined ? [] : [new URL(endSession).origin])])]
  }

  /** Where to end the provider's session too (RP-initiated logout), or null where it has none. */
  async endSessionUrl (postLogoutRedirectUri: string): Promise<URL | null> {
    const config = await this.#discover().catch(() => null)
    if (config?.serverMetadata().end_session_endpoint === undefined) return null
    return oidc.buildEndSessionUrl(config, { post_logout_redirect_uri: postLogoutRedirectUri, client_id: config.clientMetadata().client_id })
  }
}
