// Production TokenStore on Redis. Keys:
//   pat:<secretHash>   string  the token as JSON, expiring with it: what authentication reads
//   tokens:{<owner>}   hash    token id → the token as JSON (with its secretHash), for listing, revoking and the cap
// Revoking deletes pat:<secretHash> first: from then on no instance finds it.
import type { Cluster, Redis } from 'ioredis'
import { storeCall } from './redis-errors.js'
import { scripts } from './redis-scripts.js'
import { MAX_TOKENS_PER_USER, type PersonalToken, type TokenStore } from './token-store.js'

const secretKey = (secretHash: string): string => `pat:${secretHash}`
const ownerKey = (owner: string): string => `tokens:{${owner}}`

type Stored = PersonalToken & { secretHash: string }

export class RedisTokenStore implements TokenStore {
  readonly #redis: Redis | Cluster

  constructor (redis: Redis | Cluster) {
    this.#redis = redis
  }

  async createToken (secretHash: string, token: PersonalToken): Promise<boolean> {
    const stored: Stored = { ...token, secretHash }
    const added = await storeCall(scripts.createToken.run(this.#redis, [ownerKey(token.owner)], [token.id, JSON.stringify(stored), Date.now(), MAX_TOKENS_PER_USER]))
    if (added !== 1) return false
    await storeCall(this.#redis.set(secretKey(secretHash), JSON.stringify(token), 'PXAT', token.expiresAt))
    return true
  }

  async findToken (secretHash: string): Promise<PersonalToken | null> {
    const json = await storeCall(this.#redis.get(secretKey(secretHash)))
    if (json === null) return null
    const token = JSON.parse(json) as PersonalToken
    return token.expiresAt > Date.now() ? token : null
  }

  async #stored (owner: string): Promise<Stored[]> {
    const all = await storeCall(this.#redis.hvals(ownerKey(owner)))
    const now = Date.now()
    return all.map((json) => JSON.parse(json) as Stored).filter((token) => token.expiresAt > now)
  }

  async listTokens (owner: string): Promise<PersonalToken[]> {
    return (await this.#stored(owner))
      .map(({ secretHash: _, ...token }) => token)
      .sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : -1))
  }

  async revokeToken (owner: string, id: string): Promise<boolean> {
    const json = await storeCall(this.#redis.hget(ownerKey(owner), id))
    if (json === null) return false
    const { secretHash, expiresAt } = JSON.parse(json) as Stored
    await storeCall(this.#redis.del(secretKey(secretHash)))
    const removed = await storeCall(this.#redis.hdel(ownerKey(owner), id))
    return removed === 1 && expiresAt > Date.now()
  }
}
