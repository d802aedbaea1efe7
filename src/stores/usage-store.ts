// The UsageStore port: what each user keeps (bytes and files), counted against their quota
// across instances. Uploads reserve before they store and give back what they did not use;
// deleting a file gives its share back.

export interface Usage { bytes: number, files: number }
export interface Caps { bytes: number | null, files: number | null } // null: unlimited
export type Reservation = { ok: true, usage: Usage } | { ok: false, usage: Usage }

export interface UsageStore {
  /** Atomically adds `amount` to the counters under `key` unless a counter would then exceed its cap; usage is after (ok) or as it stands (refused). */
  reserve (key: string, amount: Usage, caps: Caps): Promise<Reservation>
  /** Subtracts `amount` (never below zero). */
  release (key: string, amount: Usage): Promise<void>
  get (key: string): Promise<Usage>
}

/** A user's counters: one key (with its own hash tag, so one call is one Cluster slot). */
export const usageKey = (owner: string): string => `usage:{${owner}}`

/**
 * Whether adding `amount` to `usage` stays within `caps`. A counter that `amount` adds
 * nothing to never refuses, even over a cap lowered since: a user over their bytes may
 * still be refused for the bytes, not for the count.
 */
export function fits (usage: Usage, amount: Usage, caps: Caps): boolean {
  const within = (used: number, more: number, cap: number | null): boolean => more <= 0 || cap === null || used + more <= cap
  return within(usage.bytes, amount.bytes, caps.bytes) && within(usage.files, amount.files, caps.files)
}

/** What is left under each cap (never below zero); null: no cap. */
export function remaining (usage: Usage, caps: Caps): Caps {
  const left = (used: number, cap: number | null): number | null => cap === null ? null : Math.max(0, cap - used)
  return { bytes: left(usage.bytes, caps.bytes), files: left(usage.files, caps.files) }
}
