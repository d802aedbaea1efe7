// Embedded TokenStore: process memory, one instance only.
import { MAX_TOKENS_PER_USER, type PersonalToken, type TokenStore } from './token-store.js'

export class MemoryTokenStore implements TokenStore {
  /** secret hash → token */
  readonly #tokens = new Map<string, PersonalToken>()

  #live (owner: string): Array<[string, PersonalToken]> {
    const now = Date.now()
    return [...this.#tokens].filter(([hash, token]) => {
      if (token.expiresAt > now) return token.owner === owner
      this.#tokens.delete(hash)
      return false
    })
  }

  async createToken (secretHash: string, token: PersonalToken): Promise<boolean> {
    if (this.#live(token.owner).length >= MAX_TOKENS_PER_USER) return false
    this.#tokens.set(secretHash, { ...token })
    return true
  }

  async findToken (secretHash: string): Promise<PersonalToken | null> {
    const token = this.#tokens.get(secretHash)
    return token !== undefined && token.expiresAt > Date.now() ? { ...token } : null
  }

  async listTokens (owner: string): Promise<PersonalToken[]> {
    return this.#live(owner).map(([, token]) => ({ ...token })).sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : -1))
  }

  async revokeToken (owner: string, id: string): Promise<boolean> {
    const found = this.#live(owner).find(([, token]) => token.id === id)
    if (found === undefined) return false
    this.#tokens.delete(found[0])
    return true
  }
}
