// The LinkHistory port: a link's recent audit events, for its owner to read.
import type { AuditEvent } from '../audit.js'

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

export interface LinkHistory {
  /** Appends to the link's capped histories, kept until `keepUntil` (ms). */
  appendEvents (linkId: string, batch: HistoryBatch, keepUntil: number): Promise<void>
  /** Both kinds, newest first (see mergeHistories). */
  listEvents (linkId: string, limit: number): Promise<AuditEvent[]>
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
