// The Lua scripts of the Redis store: each decision about a link, a budget or a history is
// one script, so racing instances agree. See redis-store.ts for the keys they touch.
import type { Cluster, Redis } from 'ioredis'
import { hash } from 'node:crypto'

// Budgets (see budget-store.ts Budget): KEYS[first..] are the counters, ARGV[arg..] holds
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

// KEYS[1]: a user's personal tokens (id → JSON). Drops the expired ones, then adds ARGV[2]
// as ARGV[1] unless ARGV[4] live ones remain (returns 0); the hash expires with its last token.
// ARGV[3]: now (ms).
const CREATE_TOKEN = `
local all = redis.call('HGETALL', KEYS[1])
local now, live, last = tonumber(ARGV[3]), 0, 0
for i = 1, #all, 2 do
  local expiresAt = cjson.decode(all[i + 1]).expiresAt
  if expiresAt <= now then
    redis.call('HDEL', KEYS[1], all[i])
  else
    live = live + 1
    last = math.max(last, expiresAt)
  end
end
if live >= tonumber(ARGV[4]) then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('PEXPIREAT', KEYS[1], math.max(last, cjson.decode(ARGV[2]).expiresAt))
return 1`

export type Arg = string | number

/**
 * A Lua script, run by EVALSHA (EVAL where the server lacks it), not defineCommand:
 * docs/decisions/0007-lua-by-evalsha.md
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

export const scripts = {
  spend: new Lua<[number, number] | []>(SPEND),
  refund: new Lua<null>(REFUND),
  acquireSlot: new Lua<number>(ACQUIRE_SLOT),
  redeem: new Lua<Array<string | number | null>>(REDEEM),
  attach: new Lua<number>(ATTACH),
  deleteFile: new Lua<[string[], string[]] | null>(DELETE_FILE),
  revoke: new Lua<number>(REVOKE),
  claim: new Lua<string[]>(CLAIM),
  appendEvents: new Lua<null>(APPEND_EVENTS),
  createToken: new Lua<number>(CREATE_TOKEN)
}
