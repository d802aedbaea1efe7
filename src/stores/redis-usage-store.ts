// Production UsageStore on Redis. Key (one per user, so every call is one Cluster slot):
//   usage:{<owner>}   hash   bytes, files: what the user keeps and what their uploads in progress reserved
// The check against the caps and the increment are one script (redis-scripts.ts), so racing
// instances never pass a cap together.
import type { Cluster, Redis } from 'ioredis'
import { storeCall } from './redis-errors.js'
import { scripts } from './redis-scripts.js'
import type { Caps, Reservation, Usage, UsageStore } from './usage-store.js'

const cap = (value: number | null): string => value === null ? '' : String(value)

export class RedisUsageStore implements UsageStore {
  readonly #redis: Redis | Cluster

  constructor (redis: Redis | Cluster) {
    this.#redis = redis
  }

  async reserve (key: string, amount: Usage, caps: Caps): Promise<Reservation> {
    const [ok, bytes, files] = await storeCall(scripts.reserveUsage.run(this.#redis, [key], [amount.bytes, amount.files, cap(caps.bytes), cap(caps.files)]))
    return { ok: ok === 1, usage: { bytes, files } }
  }

  async release (key: string, amount: Usage): Promise<void> {
    await storeCall(scripts.releaseUsage.run(this.#redis, [key], [amount.bytes, amount.files]))
  }

  async get (key: string): Promise<Usage> {
    const [bytes, files] = await storeCall(this.#redis.hmget(key, 'bytes', 'files'))
    return { bytes: Number(bytes ?? 0), files: Number(files ?? 0) }
  }
}
