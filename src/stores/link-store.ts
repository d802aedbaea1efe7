// The LinkStore port: file records and share links, with their download counters and TTLs.
// Its redeem() spends the client's budgets (a BudgetStore's) in the same step, where the
// store can: a redemption is one round trip (the one deliberate coupling of the ports;
// docs/decisions/0003-budgets-inside-the-redeem-script.md).
import type { Access } from '../domain/access.js'
import type { Disposition } from '../domain/content-disposition.js'
import type { Budget, BudgetVerdict } from './budget-store.js'

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

  ping (): Promise<void>
}

/** The state a link is in at `now`, for API responses. */
export function linkStatus (link: LinkRecord, now: number): LinkStatus {
  if (link.revokedAt !== null) return 'revoked'
  if (link.expiresAt <= now) return 'expired'
  if (link.maxDownloads !== null && link.downloads >= link.maxDownloads) return 'exhausted'
  return 'active'
}
