// Embedded LinkHistory: process memory, one instance only; a history is dropped by a
// periodic sweep once it is past its keepUntil.
import type { AuditEvent } from '../audit.js'
import { LINK_HISTORY_MAX, mergeHistories, type HistoryBatch, type LinkHistory } from './link-history.js'

export class MemoryLinkHistory implements LinkHistory {
  readonly #history = new Map<string, { lifecycle: string[], denials: string[], keepUntil: number }>()
  readonly #sweeper: NodeJS.Timeout

  constructor (sweepEveryMs = 60_000) {
    this.#sweeper = setInterval(() => {
      const now = Date.now()
      for (const [id, history] of this.#history) {
        if (history.keepUntil <= now) this.#history.delete(id)
      }
    }, sweepEveryMs).unref()
  }

  async appendEvents (linkId: string, batch: HistoryBatch, keepUntil: number): Promise<void> {
    const history = this.#history.get(linkId) ?? { lifecycle: [], denials: [], keepUntil }
    for (const kind of ['lifecycle', 'denials'] as const) {
      const events = history[kind]
      events.push(...batch[kind])
      if (events.length > LINK_HISTORY_MAX) events.splice(0, events.length - LINK_HISTORY_MAX)
    }
    history.keepUntil = Math.max(history.keepUntil, keepUntil)
    this.#history.set(linkId, history)
  }

  async listEvents (linkId: string, limit: number): Promise<AuditEvent[]> {
    const history = this.#history.get(linkId)
    if (history === undefined || history.keepUntil <= Date.now()) return []
    const newest = (events: string[]): AuditEvent[] => events.slice(-limit).reverse().map((json) => JSON.parse(json) as AuditEvent)
    return mergeHistories(newest(history.lifecycle), newest(history.denials), limit)
  }

  close (): void {
    clearInterval(this.#sweeper)
  }
}
