// The LinkStore port: file records and share links, with their download counters and TTLs.
import type { AuditEvent } from '../audit.js'
import type { Access } from '../domain/access.js'
import type { Disposition } from '../domain/content-disposition.js'

export interface FileRecord {
  id: string
  owner: string
  /** Object key in the ObjectStore; made by the server, never from the client's filename. */
  key: string
  filename: string
  size: number
  contentType: string
  sha256: string
  createdAt: number
  /** When the retention sweeper deletes the file (ms); null: kept until deleted. */
  expiresAt: number | null
}

export interface LinkRecord {
  id: string
  fileId: string
  owner: string
  /** SHA-256 of the share token; the token itself is never stored. */
  tokenHash: string
  createdAt: number
  expiresAt: number
  /** null: unlimited. */
  maxDownloads: number | null
  downloads: number
  revokedAt: number | null
  access: Access
  /** scrypt hash (see domain/password); null: no password. */
  passwordHash: string | null
  disposition: Disposition
  // Copied from the file record (which never changes) so that redemption is one read.
  objectKey: string
  filename: string
  contentType: string
  size: number
}

export type LinkStatus = 'active' | 'expired' | 'exhausted' | 'revoked'
export type DenyReason = 'not_found' | Exclude<LinkStatus, 'active'>

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

export type RedeemResult =
  | { ok: true, link: LinkRecord }
  | { ok: false, reason: DenyReason, link: LinkRecord | null }
  /** Live, but isGuarded(): nothing was counted; decide, then redeem again with `checked`. */
  | { ok: false, reason: 'guarded', link: LinkRecord }
  /** A budget refused; the link was not looked at. */
  | { ok: false, reason: 'limited', link: null, verdict: BudgetVerdict & { ok: false } }

export interface RedeemOptions {
  /** A browser, which gets a page before a limited link is spent. */
  interactive: boolean
  /** The caller has checked access and password for this link. */
  checked: boolean
  /** Spent first, in the same atomic step where the store can (one round trip). */
  budgets?: Budget[]
  /**
   * The client's misses, a `take` spent before `budgets`: a reservation, given back in the
   * same step unless the token turns out a miss (unknown or expired), and given back when
   * any budget refuses. So parallel guesses can never look up more than its `max`.
   */
  misses?: Budget
}

/** Whether a redemption's outcome is a miss: what a guesser of tokens gets. */
export const isMiss = (reason: string): boolean => reason === 'not_found' || reason === 'expired'

export interface Page<T> { items: T[], next: string | null }
export interface PageQuery { limit: number, after?: string | undefined }

/** How long a link's record outlives its expiry, so that "expired" can be told from "unknown". */
export const EXPIRED_LINK_GRACE_MS = 24 * 3600 * 1000
/** How long a link's event history outlives the link, for the owner to look back. */
export const LINK_HISTORY_GRACE_MS = 30 * 24 * 3600 * 1000
/** Events kept per link and kind (the newest). */
export const LINK_HISTORY_MAX = 1000

/**
 * A link's new history entries, AuditEvents as JSON (as the audit log writes them, serialised
 * once), oldest first. Its own lifecycle (created, redeemed, revoked) and the denials are kept
 * apart, each capped, so that a flood of refused requests cannot push the lifecycle out.
 */
export interface HistoryBatch {
  lifecycle: string[]
  denials: string[]
}

export interface LinkStore {
  putFile (file: FileRecord): Promise<void>
  getFile (id: string): Promise<FileRecord | null>
  /** Newest first; `after` is the last id of the previous page. */
  listFiles (owner: string, page: PageQuery): Promise<Page<FileRecord>>
  /** Removes the record and every link to it; returns the removed record. */
  deleteFile (id: string): Promise<FileRecord | null>
  /**
   * Claims up to `limit` files whose retention ended by `now`, for `leaseMs`: no other
   * caller gets them meanwhile; one whose claimer died is claimable again after the lease.
   * A file leaves the claims when it is deleted.
   */
  claimExpiredFiles (now: number, leaseMs: number, limit: number): Promise<FileRecord[]>

  /** False when the file is gone (deleted meanwhile): no link then exists. */
  createLink (link: LinkRecord): Promise<boolean>
  getLink (id: string): Promise<LinkRecord | null>
  listLinks (owner: string, page: PageQuery): Promise<Page<LinkRecord>>
  /** False when there is no such link. */
  revokeLink (id: string, at: number): Promise<boolean>
  /**
   * Atomically: exists, not revoked, not expired, not exhausted, not guarded (unless
   * checked), then count one download.
   */
  redeem (tokenHash: string, options: RedeemOptions): Promise<RedeemResult>
  /** The link as it is, counting nothing; null when unknown. */
  peek (tokenHash: string): Promise<LinkRecord | null>
  /** Spends `budgets` in order (see Budget), atomically where the store can. */
  spend (budgets: Budget[]): Promise<BudgetVerdict>
  /** Gives one count back to each budget (a reservation that was not used up); never below zero. */
  refund (budgets: Budget[]): Promise<void>
  /** Takes (or renews) a slot; false when all `max` are held by others. */
  acquireSlot (slot: Slot): Promise<boolean>
  releaseSlot (key: string, id: string): Promise<void>

  /** Appends to the link's capped histories, kept until `keepUntil` (ms). */
  appendEvents (linkId: string, batch: HistoryBatch, keepUntil: number): Promise<void>
  /** Both kinds, newest first. */
  listEvents (linkId: string, limit: number): Promise<AuditEvent[]>

  ping (): Promise<void>
  close (): Promise<void>
}

/**
 * At most `limit` of a link's events (each list newest first), newest first: its lifecycle
 * (up to `limit`) whatever the denials, which fill what room is left, the newest of them.
 * Within one millisecond a denial counts as the newer: it is what follows a revocation or
 * the last download, while a denial and then a grant of the same link take longer.
 */
export function mergeHistories (lifecycle: AuditEvent[], denials: AuditEvent[], limit: number): AuditEvent[] {
  const kept = lifecycle.slice(0, limit)
  const room = denials.slice(0, limit - kept.length)
  const out: AuditEvent[] = []
  let i = 0
  let j = 0
  while (i < kept.length || j < room.length) {
    const x = kept[i]
    const y = room[j]
    if (y === undefined || (x !== undefined && x.time > y.time)) {
      out.push(x as AuditEvent)
      i++
    } else {
      out.push(y)
      j++
    }
  }
  return out
}

/** The state a link is in at `now`, for API responses. */
export function linkStatus (link: LinkRecord, now: number): LinkStatus {
  if (link.revokedAt !== null) return 'revoked'
  if (link.expiresAt <= now) return 'expired'
  if (link.maxDownloads !== null && link.downloads >= link.maxDownloads) return 'exhausted'
  return 'active'
}
