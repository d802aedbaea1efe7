// A resumable upload's state in Redis, shared by every instance: @tus/s3-store's info (a
// KvStore) and the lock that keeps one request at a time on an upload (a tus Locker). Keys
// (under REDIS_KEY_PREFIX), one hash tag per upload so that a Cluster keeps them together:
//   upload:{<uploadId>}          the info, as JSON, expiring a while after the upload does
//   upload:{<uploadId>}:lock     the holder's token, with a lease renewed while it holds it
//   upload:{<uploadId>}:release  set by a request waiting for the lock: the holder lets go
import type { MetadataValue } from '@tus/s3-store'
import { ERRORS, type KvStore, type Lock, type Locker, type RequestRelease } from '@tus/utils'
import type { Cluster, Redis } from 'ioredis'
import { randomBytes } from 'node:crypto'
import { setTimeout as delay } from 'node:timers/promises'
import { storeCall } from './redis-errors.js'
import { scripts } from './redis-scripts.js'

const key = (id: string): string => `upload:{${id}}`

export class RedisUploadInfo implements KvStore<MetadataValue> {
  readonly #redis: Redis | Cluster
  readonly #ttl: number

  /** `ttl`: milliseconds an upload's info is kept after it was last written (past the upload's expiry). */
  constructor (redis: Redis | Cluster, ttl: number) {
    this.#redis = redis
    this.#ttl = ttl
  }

  async get (id: string): Promise<MetadataValue | undefined> {
    const json = await storeCall(this.#redis.get(key(id)))
    return json === null ? undefined : JSON.parse(json) as MetadataValue
  }

  async set (id: string, value: MetadataValue): Promise<void> {
    await storeCall(this.#redis.set(key(id), JSON.stringify(value), 'PX', this.#ttl))
  }

  async delete (id: string): Promise<void> {
    await storeCall(this.#redis.del(key(id)))
  }
}

export interface RedisUploadLockerOptions {
  /** Milliseconds a lock outlives its holder's last renewal (a crashed instance's lock lapses after it). */
  leaseMs?: number
  /** Milliseconds a request waits for a lock before it gives up (tus's 500 "failed to acquire lock"). */
  acquireTimeoutMs?: number
  /** Milliseconds between two tries of a waiting request. */
  retryMs?: number
}

/**
 * One request at a time on an upload, across instances. A request that finds the lock taken
 * asks its holder to let go (tus then ends the holder's request once it has stored what it
 * received) and tries again until it gets it; the holder renews its lease, and sees the ask,
 * every third of the lease.
 */
export class RedisUploadLocker implements Locker {
  readonly #redis: Redis | Cluster
  readonly #leaseMs: number
  readonly #acquireTimeoutMs: number
  readonly #retryMs: number

  constructor (redis: Redis | Cluster, { leaseMs = 6000, acquireTimeoutMs = 30_000, retryMs = 100 }: RedisUploadLockerOptions = {}) {
    this.#redis = redis
    this.#leaseMs = leaseMs
    this.#acquireTimeoutMs = acquireTimeoutMs
    this.#retryMs = retryMs
  }

  newLock (id: string): Lock {
    const redis = this.#redis
    const [lock, release] = [`${key(id)}:lock`, `${key(id)}:release`]
    const token = randomBytes(16).toString('base64url')
    const leaseMs = this.#leaseMs
    const { retryMs, acquireTimeoutMs } = { retryMs: this.#retryMs, acquireTimeoutMs: this.#acquireTimeoutMs }
    let renewal: NodeJS.Timeout | undefined
    return {
      async lock (signal: AbortSignal, requestRelease: RequestRelease): Promise<void> {
        const deadline = Date.now() + acquireTimeoutMs
        while (await storeCall(redis.set(lock, token, 'PX', leaseMs, 'NX')) === null) {
          if (signal.aborted || Date.now() >= deadline) throw ERRORS.ERR_LOCK_TIMEOUT
          await storeCall(redis.set(release, '1', 'PX', leaseMs))
          await delay(retryMs, undefined, { signal }).catch(() => {})
        }
        // An ask left from before this request got the lock is not meant for it.
        await storeCall(redis.del(release))
        renewal = setInterval(() => {
          scripts.renewLock.run(redis, [lock, release], [token, leaseMs]).then(async (held) => {
            // Asked for, or lost (its lease ran out): this request ends once it has stored what it got.
            if (held !== 0) await requestRelease()
          }).catch(() => {})
        }, leaseMs / 3).unref()
      },
      async unlock (): Promise<void> {
        clearInterval(renewal)
        await storeCall(scripts.releaseLock.run(redis, [lock, release], [token]))
      }
    }
  }
}
