// Production RequestStore on Redis. Keys (each command touches one, so the layout works on
// Cluster as it is):
//   request:<tokenHash>    hash    `record`: the request as JSON but for `revokedAt`, which is a field of its own
//                                  (set once, by the revoke script); expires at the request's expiry plus a grace,
//                                  so that "expired" can be told from "unknown"
//   rid:<requestId>        string  the token hash, to address a request by its id; the same expiry
//   owner:<sub>:requests   zset    request ids (lexicographic = time order), for listings
import type { Cluster, Redis } from 'ioredis'
import type { Page, PageQuery } from './link-store.js'
import { storeCall } from './redis-errors.js'
import { scripts } from './redis-scripts.js'
import { indexPage } from './redis-store.js'
import { EXPIRED_REQUEST_GRACE_MS, type RequestRecord, type RequestStore } from './request-store.js'

const requestKey = (tokenHash: string): string => `request:${tokenHash}`
const requestIdKey = (id: string): string => `rid:${id}`
const ownerRequestsKey = (owner: string): string => `owner:${owner}:requests`

export class RedisRequestStore implements RequestStore {
  readonly #redis: Redis | Cluster

  constructor (redis: Redis | Cluster) {
    this.#redis = redis
  }

  async createRequest (request: RequestRecord): Promise<void> {
    const { revokedAt, ...record } = request
    const keepUntil = request.expiresAt + EXPIRED_REQUEST_GRACE_MS
    const key = requestKey(request.tokenHash)
    await storeCall(Promise.all([
      this.#redis.multi().hset(key, { record: JSON.stringify(record), ...(revokedAt === null ? {} : { revokedAt }) }).pexpireat(key, keepUntil).exec(),
      this.#redis.set(requestIdKey(request.id), request.tokenHash, 'PXAT', keepUntil),
      this.#redis.zadd(ownerRequestsKey(request.owner), 0, request.id)
    ]))
  }

  async findRequest (tokenHash: string): Promise<RequestRecord | null> {
    const [record, revokedAt] = await storeCall(this.#redis.hmget(requestKey(tokenHash), 'record', 'revokedAt'))
    if (record === null || record === undefined) return null
    return { ...JSON.parse(record) as Omit<RequestRecord, 'revokedAt'>, revokedAt: revokedAt === null || revokedAt === undefined ? null : Number(revokedAt) }
  }

  async getRequest (id: string): Promise<RequestRecord | null> {
    const tokenHash = await storeCall(this.#redis.get(requestIdKey(id)))
    return tokenHash === null ? null : await this.findRequest(tokenHash)
  }

  async listRequests (owner: string, query: PageQuery): Promise<Page<RequestRecord>> {
    return await indexPage(this.#redis, ownerRequestsKey(owner), query, async (id) => await this.getRequest(id))
  }

  async revokeRequest (id: string, at: number): Promise<boolean> {
    const tokenHash = await storeCall(this.#redis.get(requestIdKey(id)))
    if (tokenHash === null) return false
    // The links' script: HSETNX on a hash that still exists (one that expired meanwhile is not made again, without a TTL).
    return await storeCall(scripts.revoke.run(this.#redis, [requestKey(tokenHash)], [at])) === 1
  }
}
