// The organisation's OpenID Provider (OIDC_ISSUER), or null. Its discovery starts in the
// background: a provider that is down at start does not stop the gateway.
import fp from 'fastify-plugin'
import { IdentityProvider } from '../src/identity-provider.js'

declare module 'fastify' {
  interface FastifyInstance {
    identityProvider: IdentityProvider | null
  }
}

export default fp(async function identityProviderPlugin (fastify) {
  const { oidc, publicUrl } = fastify.config
  if (oidc === null) {
    fastify.decorate('identityProvider', null)
    return
  }
  const provider = new IdentityProvider(oidc, `${publicUrl}/auth/callback`)
  fastify.decorate('identityProvider', provider)
  fastify.addHook('onReady', async () => {
    // Not awaited: start-up never waits for the provider.
    provider.start().catch((err: unknown) => {
      fastify.log.warn({ issuer: oidc.issuer, reason: String((err as Error).cause ?? err) }, 'the identity provider cannot be reached now: its tokens get 503 until it can')
    })
  })
}, { name: 'identity-provider' })
