// Embedded UsageStore: process memory, one instance only. Each call reads and writes with no
// await between, so racing calls cannot interleave. A user's counters go when both are zero.
import { fits, type Caps, type Reservation, type Usage, type UsageStore } from './usage-store.js'

export class MemoryUsageStore implements UsageStore {
  readonly #usage = new Map<string, Usage>()

  #read (key: string): Usage {
    const usage = this.#usage.get(key)
    return usage === undefined ? { bytes: 0, files: 0 } : { ...usage }
  }

  async reserve (key: string, amount: Usage, caps: Caps): Promise<Reservation> {
    const usage = this.#read(key)
    if (!fits(usage, amount, caps)) return { ok: false, usage }
    const after = { bytes: usage.bytes + amount.bytes, files: usage.files + amount.files }
    this.#usage.set(key, after)
    return { ok: true, usage: { ...after } }
  }

  async release (key: string, amount: Usage): Promise<void> {
    const usage = this.#read(key)
    const after = { bytes: Math.max(0, usage.bytes - amount.bytes), files: Math.max(0, usage.files - amount.files) }
    if (after.bytes === 0 && after.files === 0) this.#usage.delete(key)
    else this.#usage.set(key, after)
  }

  async get (key: string): Promise<Usage> {
    return this.#read(key)
  }
}
