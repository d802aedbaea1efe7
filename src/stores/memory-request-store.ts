// Embedded RequestStore: process memory, one instance only. Requests past their grace are
// dropped lazily and by a periodic sweep, so memory stays bounded by the live ones.
import { page } from './memory-link-store.js'
import type { Page, PageQuery } from './link-store.js'
import { EXPIRED_REQUEST_GRACE_MS, type RequestRecord, type RequestStore } from './request-store.js'

export class MemoryRequestStore implements RequestStore {
  readonly #requests = new Map<string, RequestRecord>()
  /** token hash → request id */
  readonly #byToken = new Map<string, string>()
  readonly #sweeper: NodeJS.Timeout

  constructor (sweepEveryMs = 60_000) {
    this.#sweeper = setInterval(() => { this.#sweep(Date.now()) }, sweepEveryMs).unref()
  }

  #sweep (now: number): void {
    for (const request of this.#requests.values()) this.#live(request, now)
  }

  /** The request unless it is past its grace (then it is dropped). */
  #live (request: RequestRecord | undefined, now = Date.now()): RequestRecord | null {
    if (request === undefined) return null
    if (request.expiresAt + EXPIRED_REQUEST_GRACE_MS > now) return request
    this.#requests.delete(request.id)
    this.#byToken.delete(request.tokenHash)
    return null
  }

  async createRequest (record: RequestRecord): Promise<void> {
    this.#requests.set(record.id, structuredClone(record))
    this.#byToken.set(record.tokenHash, record.id)
  }

  async getRequest (id: string): Promise<RequestRecord | null> {
    const request = this.#live(this.#requests.get(id))
    return request === null ? null : structuredClone(request)
  }

  async findRequest (tokenHash: string): Promise<RequestRecord | null> {
    const id = this.#byToken.get(tokenHash)
    return id === undefined ? null : await this.getRequest(id)
  }

  async listRequests (owner: string, query: PageQuery): Promise<Page<RequestRecord>> {
    const mine = [...this.#requests.values()].filter((r) => r.owner === owner && this.#live(r) !== null)
    const result = page(mine, query)
    return { ...result, items: result.items.map((r) => structuredClone(r)) }
  }

  async revokeRequest (id: string, at: number): Promise<boolean> {
    const request = this.#live(this.#requests.get(id))
    if (request === null) return false
    request.revokedAt ??= at
    return true
  }

  close (): void {
    clearInterval(this.#sweeper)
  }
}
