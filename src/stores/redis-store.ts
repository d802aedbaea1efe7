// Production LinkStore, BudgetStore and LinkHistory on Redis, one class: a redemption's
// script spends the client's budgets with the link, in one round trip (but on Cluster, see
// redeem(); docs/decisions/0003-budgets-inside-the-redeem-script.md). Every decision about a
// link (redeem, revoke, attach to a file, delete a file with its links) is one Lua script
// (redis-scripts.ts), so racing instances agree.
// Keys that one script touches share a hash tag, so the layout also works on Cluster:
//   file:{<fileId>}        hash   the file record
//   file:{<fileId>}:links  hash   link id → token hash, for deleting a file's links
//   link:<tokenHash>       hash   the link (see linkFields; expires with the link, plus a grace)
//   lid:<linkId>           string token hash, to address a link by its id
//   owner:<sub>:files      zset   file ids (lexicographic = time order), for listings
//   owner:<sub>:links      zset   link ids
//   history:<linkId>       list   the link's own events (created, redeemed, revoked) as JSON, newest first, capped, expiring after the link
//   denied:<linkId>        list   the refusals of requests for the link, the same way (apart, so they cannot push the above out)
//   retention              zset   file ids by when they are due (or when a sweeper's claim lapses)
//   budget:<name>:<id>     string a budget's counter (see budget-store.ts Budget), expiring with its window
//   slots:<name>:<id>      zset   held slots (see budget-store.ts Slot): holder id by the end of its lease
import type { Cluster, Redis } from 'ioredis'
import type { AuditEvent } from '../audit.js'
import type { Budget, BudgetStore, BudgetVerdict, Slot } from './budget-store.js'
import { LINK_HISTORY_MAX, mergeHistories, type HistoryBatch, type LinkHistory } from './link-history.js'
import {
  EXPIRED_LINK_GRACE_MS, isMiss,
  type DenyReason, type FileRecord, type LinkRecord, type LinkStore, type Page, type PageQuery, type RedeemOptions, type RedeemResult
} from './link-store.js'
import { storeCall } from './redis-errors.js'
import { scripts, type Arg } from './redis-scripts.js'

const fileKey = (id: string): string => `file:{${id}}`
const fileLinksKey = (id: string): string => `file:{${id}}:links`
const linkKey = (tokenHash: string): string => `link:${tokenHash}`
const linkIdKey = (id: string): string => `lid:${id}`
const ownerFilesKey = (owner: string): string => `owner:${owner}:files`
const ownerLinksKey = (owner: string): string => `owner:${owner}:links`
const historyKey = (linkId: string): string => `history:${linkId}`
const deniedKey = (linkId: string): string => `denied:${linkId}`
const RETENTION_KEY = 'retention'

/** Appends the budgets as script arguments: their keys to `keys`, ARGV triples to `args`. */
function pushBudgets (budgets: Budget[], keys: string[], args: Arg[]): void {
  for (const { key, mode, max, windowMs } of budgets) {
    keys.push(key)
    args.push(mode, max, windowMs)
  }
}

function pairs (flat: string[]): Record<string, string> {
  const out: Record<string, string> = {}
  for (let i = 0; i + 1 < flat.length; i += 2) out[flat[i] as string] = flat[i + 1] as string
  return out
}

function toFile (h: Record<string, string>): FileRecord {
  return {
    id: h.id ?? '',
    owner: h.owner ?? '',
    key: h.key ?? '',
    filename: h.filename ?? '',
    size: Number(h.size),
    contentType: h.contentType ?? '',
    sha256: h.sha256 ?? '',
    createdAt: Number(h.createdAt),
    expiresAt: h.expiresAt === undefined ? null : Number(h.expiresAt)
  }
}

/**
 * A link's hash: `record`, the link as JSON but for its counters (it never changes, and is
 * one string to read back), copies of the fields the scripts decide on, and the counters
 * they write (`downloads`, `revokedAt`).
 */
function linkFields (link: LinkRecord): Record<string, string> {
  const { downloads, revokedAt, ...record } = link
  const { expiresAt, maxDownloads, access, passwordHash } = link
  return fields({ record: JSON.stringify(record), expiresAt, maxDownloads, access, passwordHash, downloads, revokedAt })
}

function toLink (record: string, downloads: string | number, revokedAt: string | number | null | undefined): LinkRecord {
  // Completed in place, not spread into a new object (docs/decisions/0008-link-record-as-one-json-field.md).
  const link = JSON.parse(record) as LinkRecord
  link.downloads = Number(downloads)
  link.revokedAt = revokedAt === null || revokedAt === undefined ? null : Number(revokedAt)
  return link
}

/** Record → hash fields; null fields are left out, which the scripts read as "unset". */
function fields (record: object): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(record)) {
    if (v !== null && v !== undefined) out[k] = typeof v === 'object' || k === 'access' ? JSON.stringify(v) : String(v)
  }
  return out
}

export class RedisStore implements LinkStore, BudgetStore, LinkHistory {
  readonly #redis: Redis | Cluster
  /** On Cluster, a script only reaches keys of one slot: budgets go one by one, apart from the link. */
  readonly #cluster: boolean

  constructor (redis: Redis | Cluster) {
    this.#redis = redis
    this.#cluster = redis.isCluster
  }

  async putFile (file: FileRecord): Promise<void> {
    await storeCall(this.#redis.hset(fileKey(file.id), fields(file)))
    await storeCall(Promise.all([
      this.#redis.zadd(ownerFilesKey(file.owner), 0, file.id),
      ...(file.expiresAt === null ? [] : [this.#redis.zadd(RETENTION_KEY, file.expiresAt, file.id)])
    ]))
  }

  async getFile (id: string): Promise<FileRecord | null> {
    const h = await storeCall(this.#redis.hgetall(fileKey(id)))
    return h.id === undefined ? null : toFile(h)
  }

  async #page<T> (indexKey: string, query: PageQuery, load: (id: string) => Promise<T | null>): Promise<Page<T>> {
    const max = query.after === undefined ? '+' : `(${query.after}`
    const ids = await storeCall(this.#redis.zrange(indexKey, max, '-', 'BYLEX', 'REV', 'LIMIT', 0, query.limit + 1))
    const pageIds = ids.slice(0, query.limit)
    const loaded = await Promise.all(pageIds.map(load))
    // Index entries of expired links (or half-deleted files) are pruned as they are met.
    const stale = pageIds.filter((_, i) => loaded[i] === null)
    if (stale.length > 0) await storeCall(this.#redis.zrem(indexKey, ...stale))
    return {
      items: loaded.filter((x): x is Awaited<T> => x !== null),
      next: ids.length > query.limit ? (pageIds.at(-1) ?? null) : null
    }
  }

  async listFiles (owner: string, query: PageQuery): Promise<Page<FileRecord>> {
    return await this.#page(ownerFilesKey(owner), query, async (id) => await this.getFile(id))
  }

  async deleteFile (id: string): Promise<FileRecord | null> {
    const file = await this.getFile(id)
    if (file === null) return null
    // Links first (idempotent): if this fails halfway, the file is still there and the
    // delete can be retried; it never leaves a live link to a deleted file.
    const dropLinks = async (links: Record<string, string>): Promise<void> => {
      await Promise.all(Object.entries(links).map(async ([linkId, tokenHash]) => await this.#dropLink(file.owner, linkId, tokenHash)))
    }
    await storeCall(this.#redis.hgetall(fileLinksKey(id)).then(dropLinks))
    const removed = await storeCall(scripts.deleteFile.run(this.#redis, [fileKey(id), fileLinksKey(id)], []))
    if (removed === null) return null
    // Links attached since the first pass (createLink re-checks the file after writing).
    await storeCall(Promise.all([
      dropLinks(pairs(removed[1])),
      this.#redis.zrem(ownerFilesKey(file.owner), id),
      this.#redis.zrem(RETENTION_KEY, id)
    ]))
    return file
  }

  async claimExpiredFiles (now: number, leaseMs: number, limit: number): Promise<FileRecord[]> {
    const ids = await storeCall(scripts.claim.run(this.#redis, [RETENTION_KEY], [now, now + leaseMs, limit]))
    const files = await Promise.all(ids.map(async (id) => await this.getFile(id)))
    // A claimed id without a record was deleted halfway: forget it.
    const gone = ids.filter((_, i) => files[i] === null)
    if (gone.length > 0) await storeCall(this.#redis.zrem(RETENTION_KEY, ...gone))
    return files.filter((f): f is FileRecord => f !== null)
  }

  async #dropLink (owner: string, linkId: string, tokenHash: string): Promise<void> {
    await Promise.all([
      this.#redis.del(linkKey(tokenHash)),
      this.#redis.del(linkIdKey(linkId)),
      this.#redis.zrem(ownerLinksKey(owner), linkId)
    ])
  }

  async createLink (link: LinkRecord): Promise<boolean> {
    const attached = await storeCall(scripts.attach.run(this.#redis, [fileKey(link.fileId), fileLinksKey(link.fileId)], [link.id, link.tokenHash]))
    if (attached === 0) return false
    const keepUntil = link.expiresAt + EXPIRED_LINK_GRACE_MS
    await storeCall(Promise.all([
      this.#redis.multi().hset(linkKey(link.tokenHash), linkFields(link)).pexpireat(linkKey(link.tokenHash), keepUntil).exec(),
      this.#redis.set(linkIdKey(link.id), link.tokenHash, 'PXAT', keepUntil),
      this.#redis.zadd(ownerLinksKey(link.owner), 0, link.id)
    ]))
    // A delete of the file may have run between the attach and the writes above.
    if (await storeCall(this.#redis.exists(fileKey(link.fileId))) === 0) {
      await storeCall(this.#dropLink(link.owner, link.id, link.tokenHash))
      return false
    }
    return true
  }

  async getLink (id: string): Promise<LinkRecord | null> {
    const tokenHash = await storeCall(this.#redis.get(linkIdKey(id)))
    if (tokenHash === null) return null
    const h = await storeCall(this.#redis.hgetall(linkKey(tokenHash)))
    return h.record === undefined ? null : toLink(h.record, h.downloads ?? 0, h.revokedAt)
  }

  async listLinks (owner: string, query: PageQuery): Promise<Page<LinkRecord>> {
    return await this.#page(ownerLinksKey(owner), query, async (id) => await this.getLink(id))
  }

  async revokeLink (id: string, at: number): Promise<boolean> {
    const tokenHash = await storeCall(this.#redis.get(linkIdKey(id)))
    if (tokenHash === null) return false
    return await storeCall(scripts.revoke.run(this.#redis, [linkKey(tokenHash)], [at])) === 1
  }

  async spend (budgets: Budget[]): Promise<BudgetVerdict> {
    for (const batch of this.#cluster ? budgets.map((b) => [b]) : [budgets]) {
      const keys: string[] = []
      const args: Arg[] = []
      pushBudgets(batch, keys, args)
      const [index, resetMs] = await storeCall(scripts.spend.run(this.#redis, keys, args))
      if (index !== undefined) return { ok: false, refused: batch[index - 1] as Budget, resetMs: resetMs ?? 0 }
    }
    return { ok: true }
  }

  async refund (budgets: Budget[]): Promise<void> {
    const keys = budgets.map((b) => b.key)
    await storeCall(Promise.all((this.#cluster ? keys.map((k) => [k]) : [keys]).map(async (batch) => await scripts.refund.run(this.#redis, batch, []))))
  }

  async acquireSlot ({ key, id, max, leaseMs }: Slot): Promise<boolean> {
    return await storeCall(scripts.acquireSlot.run(this.#redis, [key], [id, max, leaseMs])) === 1
  }

  async releaseSlot (key: string, id: string): Promise<void> {
    await storeCall(this.#redis.zrem(key, id))
  }

  async redeem (tokenHash: string, { interactive, checked, budgets = [], misses }: RedeemOptions): Promise<RedeemResult> {
    const all = misses === undefined ? budgets : [misses, ...budgets]
    if (this.#cluster && all.length > 0) {
      // Other slots than the link's: the budgets go first, and the reservation comes back in a call of its own.
      const verdict = await this.spend(all)
      const result = verdict.ok ? await this.redeem(tokenHash, { interactive, checked }) : { ok: false as const, reason: 'limited' as const, link: null, verdict }
      if (misses !== undefined && (result.ok || !isMiss(result.reason))) await this.refund([misses])
      return result
    }
    const keys = [linkKey(tokenHash)]
    const args: Arg[] = [interactive ? '1' : '0', checked ? '1' : '0', misses === undefined ? '0' : '1']
    pushBudgets(all, keys, args)
    const [status, ...reply] = await storeCall(scripts.redeem.run(this.#redis, keys, args))
    if (status === 'limited') return { ok: false, reason: 'limited', link: null, verdict: { ok: false, refused: all[Number(reply[0]) - 1] as Budget, resetMs: Number(reply[1]) } }
    const [record, downloads = 0, revokedAt] = reply
    if (status === 'not_found' || typeof record !== 'string') return { ok: false, reason: 'not_found', link: null }
    const link = toLink(record, downloads ?? 0, revokedAt)
    if (status === 'ok') return { ok: true, link }
    return status === 'guarded' ? { ok: false, reason: 'guarded', link } : { ok: false, reason: status as DenyReason, link }
  }

  async peek (tokenHash: string): Promise<LinkRecord | null> {
    const h = await storeCall(this.#redis.hgetall(linkKey(tokenHash)))
    return h.record === undefined ? null : toLink(h.record, h.downloads ?? 0, h.revokedAt)
  }

  async appendEvents (linkId: string, { lifecycle, denials }: HistoryBatch, keepUntil: number): Promise<void> {
    // Two keys of different slots (on Cluster): two scripts.
    const append = async (key: string, events: string[]): Promise<void> => {
      if (events.length > 0) await scripts.appendEvents.run(this.#redis, [key], [LINK_HISTORY_MAX, keepUntil, ...events])
    }
    await storeCall(Promise.all([append(historyKey(linkId), lifecycle), append(deniedKey(linkId), denials)]))
  }

  async listEvents (linkId: string, limit: number): Promise<AuditEvent[]> {
    const list = async (key: string): Promise<AuditEvent[]> => (await this.#redis.lrange(key, 0, limit - 1)).map((json) => JSON.parse(json) as AuditEvent)
    const [lifecycle, denials] = await storeCall(Promise.all([list(historyKey(linkId)), list(deniedKey(linkId))]))
    return mergeHistories(lifecycle, denials, limit)
  }

  async ping (): Promise<void> {
    await storeCall(this.#redis.ping())
  }
}
