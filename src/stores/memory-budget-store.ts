// Embedded BudgetStore: process memory, one instance only. Lapsed windows and leases are
// dropped by a periodic sweep, so memory stays bounded by the clients of the moment.
import type { Budget, BudgetStore, BudgetVerdict, Slot } from './budget-store.js'

export class MemoryBudgetStore implements BudgetStore {
  readonly #budgets = new Map<string, { count: number, resetAt: number }>()
  /** slots key → holder id → end of its lease */
  readonly #slots = new Map<string, Map<string, number>>()
  readonly #sweeper: NodeJS.Timeout

  constructor (sweepEveryMs = 60_000) {
    this.#sweeper = setInterval(() => { this.#sweep(Date.now()) }, sweepEveryMs).unref()
  }

  #sweep (now: number): void {
    for (const [key, budget] of this.#budgets) {
      if (budget.resetAt <= now) this.#budgets.delete(key)
    }
    for (const [key, holders] of this.#slots) {
      this.#dropLapsed(holders, now)
      if (holders.size === 0) this.#slots.delete(key)
    }
  }

  async spend (budgets: Budget[]): Promise<BudgetVerdict> {
    const now = Date.now()
    for (const budget of budgets) {
      let window = this.#budgets.get(budget.key)
      if (window === undefined || window.resetAt <= now) window = { count: 0, resetAt: now + budget.windowMs }
      if (budget.mode === 'take') {
        window.count += 1
        this.#budgets.set(budget.key, window)
      }
      if (budget.mode === 'take' ? window.count > budget.max : window.count >= budget.max) {
        return { ok: false, refused: budget, resetMs: window.resetAt - now }
      }
    }
    return { ok: true }
  }

  async refund (budgets: Budget[]): Promise<void> {
    const now = Date.now()
    for (const { key } of budgets) {
      const window = this.#budgets.get(key)
      if (window !== undefined && window.resetAt > now && window.count > 0) window.count -= 1
    }
  }

  #dropLapsed (holders: Map<string, number>, now: number): void {
    for (const [id, until] of holders) {
      if (until <= now) holders.delete(id)
    }
  }

  async acquireSlot ({ key, id, max, leaseMs }: Slot): Promise<boolean> {
    const now = Date.now()
    const holders = this.#slots.get(key) ?? new Map<string, number>()
    this.#dropLapsed(holders, now)
    if (!holders.has(id) && holders.size >= max) return false
    holders.set(id, now + leaseMs)
    this.#slots.set(key, holders)
    return true
  }

  async releaseSlot (key: string, id: string): Promise<void> {
    this.#slots.get(key)?.delete(id)
  }

  close (): void {
    clearInterval(this.#sweeper)
  }
}
