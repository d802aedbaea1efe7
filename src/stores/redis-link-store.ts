// Production LinkStore on Redis. Every decision about a link (redeem, revoke, attach to
// a file, delete a file with its links) is one Lua script, so racing instances agree; a
// redemption's script also spends the client's budgets (but on Cluster, see redeem()).
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
//   budget:<name>:<id>     string a budget's counter (see link-store.ts Budget), expiring with its window
//   slots:<name>:<id>      zset   held slots (see link-store.ts Slot): holder id by the end of its lease
import type { Cluster, Redis } from 'ioredis'
import { hash } from 'node:crypto'
import type { AuditEvent } from '../audit.js'
import { unavailable } from '../errors.js'
import {
  EXPIRED_LINK_GRACE_MS, LINK_HISTORY_MAX, isMiss, mergeHistories,
  type Budget, type BudgetVerdict, type DenyReason, type FileRecord, type HistoryBatch, type LinkRecord, type LinkStore, type Page, type PageQuery,
  type RedeemOptions, type RedeemResult, type Slot
} from './link-store.js'

// Budgets (see link-store.ts Budget): KEYS[first..] are the counters, ARGV[arg..] holds
// mode, max and window for each. Returns {index, ms left in its window} of the first
// budget that refuses, or nil.
const SPEND_FN = `
local function spend (first, n, arg)
  for i = 0, n - 1 do
    local key, a = KEYS[first + i], arg + 3 * i
    local refused
    if ARGV[a] == 'take' then
      local count = redis.call('INCR', key)
      if count == 1 then redis.call('PEXPIRE', key, ARGV[a + 2]) end
      refused = count > tonumber(ARGV[a + 1])
    else
      refused = tonumber(redis.call('GET', key) or '0') >= tonumber(ARGV[a + 1])
    end
    if refused then return {i + 1, math.max(0, redis.call('PTTL', key))} end
  end
  return nil
end`

const SPEND = `${SPEND_FN}
return spend(1, #KEYS, 1) or {}`

// KEYS[1]: the link, KEYS[2..]: budgets to spend first. ARGV[1]: '1' for a browser
// (interactive), ARGV[2]: '1' when access and password were checked, ARGV[3]: '1' when the
// first budget is the client's misses (a reservation, see link-store.ts RedeemOptions),
// ARGV[4..]: the budgets'. The 'guarded' rule is domain/access.ts isGuarded(), which the
// memory store uses.
const REDEEM = `${SPEND_FN}
local function giveBack ()
  if ARGV[3] == '1' and tonumber(redis.call('GET', KEYS[2]) or '0') > 0 then redis.call('DECR', KEYS[2]) end
end
local refused = spend(2, #KEYS - 1, 4)
if refused then
  giveBack()
  return {'limited', refused[1], refused[2]}
end
local f = redis.call('HMGET', KEYS[1], 'expiresAt', 'maxDownloads', 'downloads', 'revokedAt', 'access', 'passwordHash', 'record')
if not f[1] then return {'not_found'} end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local status = 'ok'
if f[4] then status = 'revoked'
elseif tonumber(f[1]) <= now then status = 'expired'
elseif f[2] and tonumber(f[3]) >= tonumber(f[2]) then status = 'exhausted'
elseif ARGV[2] ~= '1' and (f[5] ~= '"public"' or f[6] or (ARGV[1] == '1' and f[2])) then status = 'guarded'
else f[3] = redis.call('HINCRBY', KEYS[1], 'downloads', 1) end
if status ~= 'expired' then giveBack() end
return {status, f[7], f[3], f[4]}`

// Gives one count back to each budget, never below zero (a key that expired meanwhile stays gone).
const REFUND = `
for i = 1, #KEYS do
  if tonumber(redis.call('GET', KEYS[i]) or '0') > 0 then redis.call('DECR', KEYS[i]) end
end`

// KEYS[1]: the slots; ARGV: holder id, max, lease (ms). Lapsed leases are dropped first; a
// holder that takes its slot again renews it.
const ACQUIRE_SLOT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) and redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1`

// Attach only to a file that still exists; the caller re-checks after writing the link.
const ATTACH = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
return 1`

const DELETE_FILE = `
local file = redis.call('HGETALL', KEYS[1])
if #file == 0 then return false end
local links = redis.call('HGETALL', KEYS[2])
redis.call('DEL', KEYS[1], KEYS[2])
return {file, links}`

// HSET on a missing key would create it without a TTL, hence the EXISTS.
const REVOKE = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSETNX', KEYS[1], 'revokedAt', ARGV[1])
return 1`

// A capped list, newest first. ARGV[1]: how many are kept, ARGV[2]: the expiry (ms), ARGV[3..]:
// events, oldest first (pushed in thousands: unpack has a limit). The history's expiry is
// the link's (plus a grace), which never changes: it is set with the first event.
const APPEND_EVENTS = `
for i = 3, #ARGV, 1000 do redis.call('LPUSH', KEYS[1], unpack(ARGV, i, math.min(i + 999, #ARGV))) end
redis.call('LTRIM', KEYS[1], 0, tonumber(ARGV[1]) - 1)
if redis.call('PTTL', KEYS[1]) == -1 then redis.call('PEXPIREAT', KEYS[1], ARGV[2]) end`

// Due files are claimed by pushing their score to the end of the lease: one caller gets
// each, and a claimer that dies leaves it due again once the lease is over.
const CLAIM = `
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
for _, id in ipairs(ids) do redis.call('ZADD', KEYS[1], 'XX', ARGV[2], id) end
return ids`

type Arg = string | number

/**
 * A Lua script, run by EVALSHA (and by EVAL where the server does not have it yet). Not
 * ioredis's defineCommand: ioredis knows where EVALSHA's keys are (to prefix them and, on
 * Cluster, to route by slot), which it cannot know for a defined command with a variable
 * key count; and every pipeline ioredis builds copies all the defined commands onto itself.
 */
class Lua<T> {
  readonly #source: string
  readonly #sha: string

  constructor (source: string) {
    this.#source = source
    this.#sha = hash('sha1', source, 'hex')
  }

  async run (redis: Redis | Cluster, keys: string[], args: Arg[]): Promise<T> {
    try {
      return await redis.evalsha(this.#sha, keys.length, ...keys, ...args) as T
    } catch (err) {
      if (!(err instanceof Error && err.message.startsWith('NOSCRIPT'))) throw err
      return await redis.eval(this.#source, keys.length, ...keys, ...args) as T
    }
  }
}

const scripts = {
  spend: new Lua<[number, number] | []>(SPEND),
  refund: new Lua<null>(REFUND),
  acquireSlot: new Lua<number>(ACQUIRE_SLOT),
  redeem: new Lua<Array<string | number | null>>(REDEEM),
  attach: new Lua<number>(ATTACH),
  deleteFile: new Lua<[string[], string[]] | null>(DELETE_FILE),
  revoke: new Lua<number>(REVOKE),
  claim: new Lua<string[]>(CLAIM),
  appendEvents: new Lua<null>(APPEND_EVENTS)
}

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
  // Completed in place: spreading the parsed object into a new one costs a copy per redemption.
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

/** ioredis's ways of saying Redis cannot be reached now (as opposed to a reply error, a bug). */
export function isRedisUnavailable (err: unknown): boolean {
  if (!(err instanceof Error)) return false
  // Replies of a server that is failing over, loading, or a cluster missing a shard.
  if (err.name === 'ReplyError') return /^(CLUSTERDOWN|TRYAGAIN|LOADING|MASTERDOWN|READONLY) /.test(err.message)
  return err.name === 'MaxRetriesPerRequestError' || err.name === 'ClusterAllFailedError' ||
    /Stream isn't writeable|Connection is closed|Command timed out|Cluster isn't ready|None of startup nodes is available|Too many Cluster redirections|ECONNREFUSED|ETIMEDOUT|ECONNRESET|EHOSTUNREACH/.test(err.message)
}

/** Connection trouble becomes a 503; anything else (a reply error is a bug) stays as it is. */
async function guard<T> (work: Promise<T>): Promise<T> {
  try {
    return await work
  } catch (err) {
    throw isRedisUnavailable(err) ? unavailable('link store', err) : err
  }
}

export class RedisLinkStore implements LinkStore {
  readonly #redis: Redis | Cluster
  /** On Cluster, a script only reaches keys of one slot: budgets go one by one, apart from the link. */
  readonly #cluster: boolean

  constructor (redis: Redis | Cluster) {
    this.#redis = redis
    this.#cluster = redis.isCluster
  }

  async putFile (file: FileRecord): Promise<void> {
    await guard(this.#redis.hset(fileKey(file.id), fields(file)))
    await guard(Promise.all([
      this.#redis.zadd(ownerFilesKey(file.owner), 0, file.id),
      ...(file.expiresAt === null ? [] : [this.#redis.zadd(RETENTION_KEY, file.expiresAt, file.id)])
    ]))
  }

  async getFile (id: string): Promise<FileRecord | null> {
    const h = await guard(this.#redis.hgetall(fileKey(id)))
    return h.id === undefined ? null : toFile(h)
  }

  async #page<T> (indexKey: string, query: PageQuery, load: (id: string) => Promise<T | null>): Promise<Page<T>> {
    const max = query.after === undefined ? '+' : `(${query.after}`
    const ids = await guard(this.#redis.zrange(indexKey, max, '-', 'BYLEX', 'REV', 'LIMIT', 0, query.limit + 1))
    const pageIds = ids.slice(0, query.limit)
    const loaded = await Promise.all(pageIds.map(load))
    // Index entries of expired links (or half-deleted files) are pruned as they are met.
    const stale = pageIds.filter((_, i) => loaded[i] === null)
    if (stale.length > 0) await guard(this.#redis.zrem(indexKey, ...stale))
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
    await guard(this.#redis.hgetall(fileLinksKey(id)).then(dropLinks))
    const removed = await guard(scripts.deleteFile.run(this.#redis, [fileKey(id), fileLinksKey(id)], []))
    if (removed === null) return null
    // Links attached since the first pass (createLink re-checks the file after writing).
    await guard(Promise.all([
      dropLinks(pairs(removed[1])),
      this.#redis.zrem(ownerFilesKey(file.owner), id),
      this.#redis.zrem(RETENTION_KEY, id)
    ]))
    return file
  }

  async claimExpiredFiles (now: number, leaseMs: number, limit: number): Promise<FileRecord[]> {
    const ids = await guard(scripts.claim.run(this.#redis, [RETENTION_KEY], [now, now + leaseMs, limit]))
    const files = await Promise.all(ids.map(async (id) => await this.getFile(id)))
    // A claimed id without a record was deleted halfway: forget it.
    const gone = ids.filter((_, i) => files[i] === null)
    if (gone.length > 0) await guard(this.#redis.zrem(RETENTION_KEY, ...gone))
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
    const attached = await guard(scripts.attach.run(this.#redis, [fileKey(link.fileId), fileLinksKey(link.fileId)], [link.id, link.tokenHash]))
    if (attached === 0) return false
    const keepUntil = link.expiresAt + EXPIRED_LINK_GRACE_MS
    await guard(Promise.all([
      this.#redis.multi().hset(linkKey(link.tokenHash), linkFields(link)).pexpireat(linkKey(link.tokenHash), keepUntil).exec(),
      this.#redis.set(linkIdKey(link.id), link.tokenHash, 'PXAT', keepUntil),
      this.#redis.zadd(ownerLinksKey(link.owner), 0, link.id)
    ]))
    // A delete of the file may have run between the attach and the writes above.
    if (await guard(this.#redis.exists(fileKey(link.fileId))) === 0) {
      await guard(this.#dropLink(link.owner, link.id, link.tokenHash))
      return false
    }
    return true
  }

  async getLink (id: string): Promise<LinkRecord | null> {
    const tokenHash = await guard(this.#redis.get(linkIdKey(id)))
    if (tokenHash === null) return null
    const h = await guard(this.#redis.hgetall(linkKey(tokenHash)))
    return h.record === undefined ? null : toLink(h.record, h.downloads ?? 0, h.revokedAt)
  }

  async listLinks (owner: string, query: PageQuery): Promise<Page<LinkRecord>> {
    return await this.#page(ownerLinksKey(owner), query, async (id) => await this.getLink(id))
  }

  async revokeLink (id: string, at: number): Promise<boolean> {
    const tokenHash = await guard(this.#redis.get(linkIdKey(id)))
    if (tokenHash === null) return false
    return await guard(scripts.revoke.run(this.#redis, [linkKey(tokenHash)], [at])) === 1
  }

  async spend (budgets: Budget[]): Promise<BudgetVerdict> {
    for (const batch of this.#cluster ? budgets.map((b) => [b]) : [budgets]) {
      const keys: string[] = []
      const args: Arg[] = []
      pushBudgets(batch, keys, args)
      const [index, resetMs] = await guard(scripts.spend.run(this.#redis, keys, args))
      if (index !== undefined) return { ok: false, refused: batch[index - 1] as Budget, resetMs: resetMs ?? 0 }
    }
    return { ok: true }
  }

  async refund (budgets: Budget[]): Promise<void> {
    const keys = budgets.map((b) => b.key)
    await guard(Promise.all((this.#cluster ? keys.map((k) => [k]) : [keys]).map(async (batch) => await scripts.refund.run(this.#redis, batch, []))))
  }

  async acquireSlot ({ key, id, max, leaseMs }: Slot): Promise<boolean> {
    return await guard(scripts.acquireSlot.run(this.#redis, [key], [id, max, leaseMs])) === 1
  }

  async releaseSlot (key: string, id: string): Promise<void> {
    await guard(this.#redis.zrem(key, id))
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
    const [status, ...reply] = await guard(scripts.redeem.run(this.#redis, keys, args))
    if (status === 'limited') return { ok: false, reason: 'limited', link: null, verdict: { ok: false, refused: all[Number(reply[0]) - 1] as Budget, resetMs: Number(reply[1]) } }
    const [record, downloads = 0, revokedAt] = reply
    if (status === 'not_found' || typeof record !== 'string') return { ok: false, reason: 'not_found', link: null }
    const link = toLink(record, downloads ?? 0, revokedAt)
    if (status === 'ok') return { ok: true, link }
    return status === 'guarded' ? { ok: false, reason: 'guarded', link } : { ok: false, reason: status as DenyReason, link }
  }

  async peek (tokenHash: string): Promise<LinkRecord | null> {
    const h = await guard(this.#redis.hgetall(linkKey(tokenHash)))
    return h.record === undefined ? null : toLink(h.record, h.downloads ?? 0, h.revokedAt)
  }

  async appendEvents (linkId: string, { lifecycle, denials }: HistoryBatch, keepUntil: number): Promise<void> {
    // Two keys of different slots (on Cluster): two scripts.
    const append = async (key: string, events: string[]): Promise<void> => {
      if (events.length > 0) await scripts.appendEvents.run(this.#redis, [key], [LINK_HISTORY_MAX, keepUntil, ...events])
    }
    await guard(Promise.all([append(historyKey(linkId), lifecycle), append(deniedKey(linkId), denials)]))
  }

  async listEvents (linkId: string, limit: number): Promise<AuditEvent[]> {
    const list = async (key: string): Promise<AuditEvent[]> => (await this.#redis.lrange(key, 0, limit - 1)).map((json) => JSON.parse(json) as AuditEvent)
    const [lifecycle, denials] = await guard(Promise.all([list(historyKey(linkId)), list(deniedKey(linkId))]))
    return mergeHistories(lifecycle, denials, limit)
  }

  async ping (): Promise<void> {
    await guard(this.#redis.ping())
  }

  /** The client belongs to the redis plugin, which closes it. */
  async close (): Promise<void> {}
}
