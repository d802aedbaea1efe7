// Embedded LinkStore: process memory, one instance only. Expired links are dropped lazily
// and by a periodic sweep, so memory stays bounded by the live links.
import { isGuarded } from '../domain/access.js'
import type { BudgetStore } from './budget-store.js'
import {
  EXPIRED_LINK_GRACE_MS, isMiss, linkStatus,
  type FileRecord, type LinkRecord, type LinkStore, type Page, type PageQuery, type RedeemOptions, type RedeemResult
} from './link-store.js'

function page<T extends { id: string }> (items: Iterable<T>, { limit, after }: PageQuery): Page<T> {
  const sorted = [...items]
    .filter((item) => after === undefined || item.id < after)
    .sort((a, b) => (a.id < b.id ? 1 : -1))
  const slice = sorted.slice(0, limit)
  return { items: slice, next: sorted.length > limit ? (slice.at(-1)?.id ?? null) : null }
}

export class MemoryLinkStore implements LinkStore {
  readonly #files = new Map<string, FileRecord>()
  readonly #links = new Map<string, LinkRecord>()
  /** token hash → link id */
  readonly #byToken = new Map<string, string>()
  /** file id → when its claim by the sweeper lapses */
  readonly #claims = new Map<string, number>()
  readonly #budgets: BudgetStore
  readonly #sweeper: NodeJS.Timeout

  /** `budgets` are where redeem() spends a redemption's budgets. */
  constructor (budgets: BudgetStore, sweepEveryMs = 60_000) {
    this.#budgets = budgets
    this.#sweeper = setInterval(() => this.#sweep(Date.now()), sweepEveryMs).unref()
  }

  #sweep (now: number): void {
    for (const link of this.#links.values()) {
      if (link.expiresAt + EXPIRED_LINK_GRACE_MS <= now) this.#dropLink(link)
    }
  }

  #dropLink (link: LinkRecord): void {
    this.#links.delete(link.id)
    this.#byToken.delete(link.tokenHash)
  }

  #live (link: LinkRecord | undefined): LinkRecord | null {
    if (link === undefined) return null
    if (link.expiresAt + EXPIRED_LINK_GRACE_MS <= Date.now()) {
      this.#dropLink(link)
      return null
    }
    return link
  }

  async putFile (file: FileRecord): Promise<void> {
    this.#files.set(file.id, { ...file })
  }

  async getFile (id: string): Promise<FileRecord | null> {
    const file = this.#files.get(id)
    return file === undefined ? null : { ...file }
  }

  async listFiles (owner: string, query: PageQuery): Promise<Page<FileRecord>> {
    const result = page([...this.#files.values()].filter((f) => f.owner === owner), query)
    return { ...result, items: result.items.map((f) => ({ ...f })) }
  }

  async deleteFile (id: string): Promise<FileRecord | null> {
    const file = this.#files.get(id)
    if (file === undefined) return null
    this.#files.delete(id)
    this.#claims.delete(id)
    for (const link of this.#links.values()) {
      if (link.fileId === id) this.#dropLink(link)
    }
    return file
  }

  async claimExpiredFiles (now: number, leaseMs: number, limit: number): Promise<FileRecord[]> {
    const claimed: FileRecord[] = []
    for (const file of this.#files.values()) {
      if (claimed.length >= limit) break
      if (file.expiresAt === null || file.expiresAt > now || (this.#claims.get(file.id) ?? 0) > now) continue
      this.#claims.set(file.id, now + leaseMs)
      claimed.push({ ...file })
    }
    return claimed
  }

  async createLink (link: LinkRecord): Promise<boolean> {
    if (!this.#files.has(link.fileId)) return false
    this.#links.set(link.id, structuredClone(link))
    this.#byToken.set(link.tokenHash, link.id)
    return true
  }

  async getLink (id: string): Promise<LinkRecord | null> {
    const link = this.#live(this.#links.get(id))
    return link === null ? null : { ...link }
  }

  async listLinks (owner: string, query: PageQuery): Promise<Page<LinkRecord>> {
    const mine = [...this.#links.values()].filter((l) => l.owner === owner && this.#live(l) !== null)
    const result = page(mine, query)
    return { ...result, items: result.items.map((l) => ({ ...l })) }
  }

  async revokeLink (id: string, at: number): Promise<boolean> {
    const link = this.#live(this.#links.get(id))
    if (link === null) return false
    link.revokedAt ??= at
    return true
  }

  #byTokenHash (tokenHash: string): LinkRecord | null {
    const id = this.#byToken.get(tokenHash)
    return this.#live(id === undefined ? undefined : this.#links.get(id))
  }

  async redeem (tokenHash: string, options: RedeemOptions): Promise<RedeemResult> {
    const { misses } = options
    const verdict = await this.#budgets.spend(misses === undefined ? options.budgets ?? [] : [misses, ...options.budgets ?? []])
    const result = verdict.ok ? this.#redeem(tokenHash, options) : { ok: false as const, reason: 'limited' as const, link: null, verdict }
    if (misses !== undefined && (result.ok || !isMiss(result.reason))) await this.#budgets.refund([misses])
    return result
  }

  #redeem (tokenHash: string, { interactive, checked }: RedeemOptions): RedeemResult {
    const link = this.#byTokenHash(tokenHash)
    if (link === null) return { ok: false, reason: 'not_found', link: null }
    const status = linkStatus(link, Date.now())
    if (status !== 'active') return { ok: false, reason: status, link: { ...link } }
    if (!checked && isGuarded(link, interactive)) return { ok: false, reason: 'guarded', link: { ...link } }
    link.downloads += 1
    return { ok: true, link: { ...link } }
  }

  async peek (tokenHash: string): Promise<LinkRecord | null> {
    const link = this.#byTokenHash(tokenHash)
    return link === null ? null : { ...link }
  }

  async ping (): Promise<void> {}

  close (): void {
    clearInterval(this.#sweeper)
  }
}
