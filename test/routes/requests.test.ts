// /v1/requests: making, listing, reading and revoking file requests (upload links), against a
// real Redis. What the link then takes is test/routes/request-upload.test.ts.
import { Redis } from 'ioredis'
import t from 'tap'
import type { AuditEvent } from '../../src/audit.js'
import { hashToken } from '../../src/domain/tokens.js'
import { buildTestApp } from '../helpers/app.js'
import { startRedis } from '../helpers/redis.js'

const redis = await startRedis(t)
const events: AuditEvent[] = []
const { app, auth } = await buildTestApp(t, { redis, setup: (app) => { app.auditEvents.on('event', (e) => events.push(e)) } }, { linkMaxTtl: 86_400 })

const MiB = 1024 * 1024
const base = { ttl: 3600, maxFiles: 2, maxBytes: 10 * MiB }

async function make (body: unknown, sub = 'owner'): Promise<{ statusCode: number, headers: Record<string, unknown>, json: () => any }> {
  return await app.inject({ method: 'POST', url: '/v1/requests', headers: { authorization: auth(sub) }, body: body as object })
}
async function list (sub: string, query = ''): Promise<any> {
  const res = await app.inject({ url: `/v1/requests${query}`, headers: { authorization: auth(sub) } })
  if (res.statusCode !== 200) throw new Error(`list: ${res.statusCode} ${res.body}`)
  return res.json()
}

t.test('making a request: 201 with its token and URL, shown once; the rest as asked', async (t) => {
  const before = Date.now()
  const res = await make({ ...base, allowedTypes: ['Image/*', 'application/pdf'], password: 'correct horse', message: 'The scans, please <b>today</b>' })
  t.equal(res.statusCode, 201, JSON.stringify(res.json()))
  t.equal(res.headers['cache-control'], 'no-store')
  const made = res.json()
  t.match(made.token, /^[A-Za-z0-9_-]{22}$/, '128 random bits, as share tokens')
  t.equal(made.url, `http://gateway.test/r/${made.token as string}`)
  t.match(made, {
    id: /^[0-9a-z]{26}$/,
    maxFiles: 2,
    maxBytes: 10 * MiB,
    allowedTypes: ['image/*', 'application/pdf'],
    passwordProtected: true,
    message: 'The scans, please <b>today</b>',
    status: 'active',
    revokedAt: null,
    received: { files: 0, bytes: 0 }
  })
  t.notOk('password' in made || 'passwordHash' in made || 'owner' in made, 'no password, no hash, no owner field')
  const ttl = Date.parse(made.expiresAt) - before
  t.ok(ttl >= 3600_000 - 1000 && ttl <= 3600_000 + 1000, `expires in ttl seconds (${ttl} ms)`)
  t.match(events.findLast((e) => e.event === 'request.created'), { sub: 'owner', fileRequestId: made.id, outcome: 'success' }, 'audited')

  // Only the token's hash is kept: nothing in Redis holds the token itself.
  const raw = new Redis(redis.url)
  t.teardown(async () => { await raw.quit() })
  const stored: string[] = []
  for (const key of await raw.keys(`${redis.keyPrefix}*`)) {
    const type = await raw.type(key)
    if (type === 'string') stored.push(await raw.get(key) ?? '')
    if (type === 'hash') stored.push(...Object.values(await raw.hgetall(key)))
    if (type === 'zset') stored.push(...await raw.zrange(key, '0', '-1'))
    stored.push(key)
  }
  t.notOk(stored.some((v) => v.includes(made.token)), 'the token is stored nowhere')
  t.notOk(stored.some((v) => v.includes('correct horse')), 'nor the password')
  t.ok(stored.some((v) => v.includes(hashToken(made.token))), 'its hash is')
})

t.test('bad options are a 400 that says what is wrong, and make nothing', async (t) => {
  const cases: Array<[unknown, RegExp | string]> = [
    [{ ...base, maxDownload: 1 }, 'body has an unknown property "maxDownload"'],
    [{ ttl: 60, maxBytes: 1 }, /maxFiles/],
    [{ ttl: 60, maxFiles: 1 }, /maxBytes/],
    [{ maxFiles: 1, maxBytes: 1 }, /ttl/],
    [{ ...base, maxFiles: 0 }, /maxFiles/],
    [{ ...base, maxBytes: 2 ** 51 }, /maxBytes/],
    [{ ...base, allowedTypes: ['*/*'] }, /allowedTypes\/0/],
    [{ ...base, allowedTypes: ['images'] }, /allowedTypes\/0/],
    [{ ...base, allowedTypes: [] }, /allowedTypes/],
    [{ ...base, password: 'short' }, /password/],
    [{ ...base, message: 'x'.repeat(2001) }, /message/],
    [{ ...base, message: 'bell \u0007' }, /message/],
    [null, /body/]
  ]
  for (const [body, detail] of cases) {
    const res = await make(body, 'careful')
    t.equal(res.statusCode, 400, JSON.stringify(body))
    t.match(res.json(), { code: 'LG_BAD_REQUEST', detail }, JSON.stringify(body))
  }
  const tooLong = await make({ ...base, ttl: 86_401 }, 'careful')
  t.match(tooLong.json(), { status: 400, code: 'LG_TTL_TOO_LONG', detail: /at most 86400 seconds \(LINK_MAX_TTL\)/ })
  t.same((await list('careful')).items, [], 'nothing was made')
})

t.test('listing, newest first, in pages, never a token; another user\'s are not there', async (t) => {
  const made = []
  for (let i = 0; i < 3; i++) made.push((await make({ ...base, message: `#${i}` }, 'lister')).json())
  const first = await list('lister', '?limit=2')
  t.same(first.items.map((r: { id: string }) => r.id), [made[2].id, made[1].id])
  t.notOk(JSON.stringify(first).includes(made[2].token), 'no token')
  t.ok(first.items.every((r: Record<string, unknown>) => !('token' in r) && !('url' in r)))
  const second = await list('lister', `?limit=2&cursor=${first.next as string}`)
  t.same(second.items.map((r: { id: string }) => r.id), [made[0].id])
  t.equal(second.next, null)
  t.same((await list('someone-else')).items, [])
  const { token: _, url: __, ...view } = made[0]
  t.same(second.items[0], view, 'listed as made, without token and URL')

  const one = await app.inject({ url: `/v1/requests/${made[1].id as string}`, headers: { authorization: auth('lister') } })
  t.equal(one.statusCode, 200)
  t.equal(one.json().message, '#1')
  const theirs = await app.inject({ url: `/v1/requests/${made[1].id as string}`, headers: { authorization: auth('someone-else') } })
  t.match(theirs.json(), { status: 404, code: 'LG_NOT_FOUND' }, 'another user\'s is a 404, like a missing one')
  t.equal((await app.inject({ url: '/v1/requests?limit=2&status=active', headers: { authorization: auth('lister') } })).statusCode, 400, 'an unknown parameter is refused')
})

t.test('revoking: 204, then revoked; only by its owner', async (t) => {
  const made = (await make(base, 'revoker')).json()
  const path = `/v1/requests/${made.id as string}`
  t.equal((await app.inject({ method: 'DELETE', url: path, headers: { authorization: auth('mallory') } })).statusCode, 404, 'not someone else\'s')
  t.equal((await app.inject({ method: 'DELETE', url: `${path}?soft=1`, headers: { authorization: auth('revoker') } })).statusCode, 400, 'no options')
  t.equal((await app.inject({ url: path, headers: { authorization: auth('revoker') } })).json().status, 'active', 'the refused calls revoked nothing')
  const before = Date.now()
  const res = await app.inject({ method: 'DELETE', url: path, headers: { authorization: auth('revoker') } })
  t.equal(res.statusCode, 204)
  const revoked = (await app.inject({ url: path, headers: { authorization: auth('revoker') } })).json()
  t.equal(revoked.status, 'revoked')
  t.ok(Date.parse(revoked.revokedAt) >= before - 1000)
  t.match(events.findLast((e) => e.event === 'request.revoked'), { sub: 'revoker', fileRequestId: made.id })
  t.equal((await app.inject({ method: 'DELETE', url: path, headers: { authorization: auth('revoker') } })).statusCode, 204, 'again: still revoked')
  t.equal((await app.inject({ url: path, headers: { authorization: auth('revoker') } })).json().revokedAt, revoked.revokedAt, 'the first revocation stands')
  t.equal((await app.inject({ method: 'DELETE', url: '/v1/requests/01aaaaaaaaaaaaaaaaaaaaaaaa', headers: { authorization: auth('revoker') } })).statusCode, 404)
})

t.test('scopes: making and revoking need files:write, reading files:read', async (t) => {
  const token = async (scopes: string[]): Promise<string> => {
    const res = await app.inject({ method: 'POST', url: '/v1/tokens', headers: { authorization: auth('scoped') }, body: { name: scopes.join(' '), scopes } })
    return `Bearer ${res.json().token as string}`
  }
  const reader = await token(['files:read'])
  const writer = await token(['files:write'])
  const links = await token(['links:read', 'links:write'])
  t.match((await app.inject({ method: 'POST', url: '/v1/requests', headers: { authorization: reader }, body: base })).json(), { status: 403, code: 'LG_SCOPE', detail: /files:write/ })
  t.match((await app.inject({ method: 'POST', url: '/v1/requests', headers: { authorization: links }, body: base })).json(), { status: 403, code: 'LG_SCOPE' })
  const made = await app.inject({ method: 'POST', url: '/v1/requests', headers: { authorization: writer }, body: base })
  t.equal(made.statusCode, 201)
  t.equal((await app.inject({ url: '/v1/requests', headers: { authorization: writer } })).statusCode, 403, 'writing is not reading')
  t.equal((await app.inject({ url: '/v1/requests', headers: { authorization: reader } })).json().items.length, 1)
  t.equal((await app.inject({ method: 'DELETE', url: `/v1/requests/${made.json().id as string}`, headers: { authorization: reader } })).statusCode, 403)
  t.equal((await app.inject({ url: '/v1/requests', headers: {} })).statusCode, 401, 'no credential, nothing')
})
