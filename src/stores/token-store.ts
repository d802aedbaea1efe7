// The TokenStore port: personal API tokens, kept by the hash of their secret (the secret
// itself is shown once and stored nowhere). A token found here is live: revoked and
// expired tokens are not found, on every instance at once.
import type { Scope } from '../domain/scopes.js'

export interface PersonalToken {
  id: string
  owner: string
  name: string
  scopes: Scope[]
  createdAt: number
  expiresAt: number
}

/** How many live tokens one user may hold. */
export const MAX_TOKENS_PER_USER = 100

export interface TokenStore {
  /** Stores the token unless its owner already holds MAX_TOKENS_PER_USER live ones (then false). */
  createToken: (secretHash: string, token: PersonalToken) => Promise<boolean>
  /** The live token with this secret's hash, else null. */
  findToken: (secretHash: string) => Promise<PersonalToken | null>
  /** The owner's live tokens, newest first. */
  listTokens: (owner: string) => Promise<PersonalToken[]>
  /** Revokes the owner's token `id`; false when they hold no such live token. */
  revokeToken: (owner: string, id: string) => Promise<boolean>
}
