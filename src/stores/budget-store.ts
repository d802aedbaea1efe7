// The BudgetStore port: what limits requests. Fixed-window budgets that requests spend
// (a client's redemptions, its misses), and leased slots (a user's uploads in progress).

/**
 * A fixed-window counter that gates requests (a client's redemptions, its misses):
 * `take` counts one and refuses once the count is over `max`; `check` counts nothing and
 * refuses once the count has reached `max`. The window starts with the first count.
 */
export interface Budget {
  key: string
  mode: 'take' | 'check'
  max: number
  windowMs: number
}

/**
 * One of at most `max` slots under `key` (a user's uploads in progress), held by `id` for
 * `leaseMs` unless taken again (which renews it): a holder that dies frees its slot when
 * its lease lapses.
 */
export interface Slot {
  key: string
  id: string
  max: number
  leaseMs: number
}

/** Budgets are spent in order; the first refusal stops the rest (nothing after it counts). */
export type BudgetVerdict =
  | { ok: true }
  /** `resetMs`: milliseconds until the refusing budget's window ends. */
  | { ok: false, refused: Budget, resetMs: number }

export interface BudgetStore {
  /** Spends `budgets` in order (see Budget), atomically where the store can. */
  spend (budgets: Budget[]): Promise<BudgetVerdict>
  /** Gives one count back to each budget (a reservation that was not used up); never below zero. */
  refund (budgets: Budget[]): Promise<void>
  /** Takes (or renews) a slot; false when all `max` are held by others. */
  acquireSlot (slot: Slot): Promise<boolean>
  releaseSlot (key: string, id: string): Promise<void>
}
