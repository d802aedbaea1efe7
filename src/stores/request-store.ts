// The RequestStore port: file requests (upload links), by id for their owner and by the
// hash of their token for whoever holds the link. What a request has received is counted
// elsewhere (its caps are a UsageStore's); this port keeps what it is and whether it is
// still open.
import type { RequestTerms } from '../domain/request-policy.js'
import type { Page, PageQuery } from './link-store.js'

/** A request's terms (domain/request-policy: expiry, caps, allowed types, password hash, message), and who made it. */
export interface RequestRecord extends RequestTerms {
  id: string
  owner: string
  /** SHA-256 of the request's token (domain/tokens); the token itself is never stored. */
  tokenHash: string
  createdAt: number
  revokedAt: number | null
}

export type RequestStatus = 'active' | 'expired' | 'revoked'

/** How long a request's record outlives its expiry, so that "expired" can be told from "unknown". */
export const EXPIRED_REQUEST_GRACE_MS = 24 * 3600 * 1000

export interface RequestStore {
  createRequest (record: RequestRecord): Promise<void>
  /** By id; null when unknown, or expired for longer than the grace. */
  getRequest (id: string): Promise<RequestRecord | null>
  /** By the hash of its token; null when unknown, or expired for longer than the grace. */
  findRequest (tokenHash: string): Promise<RequestRecord | null>
  /** The owner's requests, newest first (ids are time-ordered); `after` is the last id of the previous page. */
  listRequests (owner: string, page: PageQuery): Promise<Page<RequestRecord>>
  /** Marks it revoked at `at` (the first revocation stands); false when there is no such request. */
  revokeRequest (id: string, at: number): Promise<boolean>
}

/** The state a request is in at `now` (a full one is still active: being full is counted by its usage). */
export function requestStatus (request: RequestRecord, now: number): RequestStatus {
  if (request.revokedAt !== null) return 'revoked'
  if (request.expiresAt <= now) return 'expired'
  return 'active'
}
