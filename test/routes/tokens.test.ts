// Personal API tokens: made by a signed-in user, shown once, stored hashed, limited to their
// scopes, and revoked on every instance at once. Two gateways share one real Redis.
import { Redis } from 'ioredis'
import t, { type Test } from 'tap'
import type { AuditEvent } from '../../src/audit.js'
import { MemoryTokenStore } from '../../src/stores/memory-token-store.js'
import { RedisTokenStore } from '../../src/stores/redis-token-store.js'
import { MAX_TOKENS_PER_USER, type TokenStore } from '../../src/stores/token-store.js'
import { buildTestApp, type TestApp } from '../helpers/app.js'
import { startRedis } from '../helpers/redis.js'

async function makeToken (gw: TestApp, body: Record<string, unknown>, sub = 'alice'): Promise<{ status: number, json: Record<string, unknown> }> {
  const res = await gw.app.inject({ method: 'POST', url: '/v1/tokens', headers: { authorization: gw.auth(sub) }, payload: body })
  return { status: res.statusCode, json: res.json() }
}

t.test('make, use, list and revoke a personal token, across two instances', async (t) => {
  const redis = await startRedis(t)
  const events: AuditEvent[] = []
  const a = await buildTestApp(t, { redis, setup: (app) => { app.auditEvents.on('event', (e) => events.push(e)) } })
  const b = await buildTestApp(t, { redis })

  const made = await makeToken(a, { name: 'backup script', scopes: ['files:read', 'files:write'], ttl: 3600 })
  t.equal(made.status, 201)
  const secret = made.json.token as string
  t.match(secret, /^lgp_[A-Za-z0-9_-]{43}$/, 'lgp_ and 256 random bits')
  t.match(made.json, { name: 'backup script', scopes: ['files:read', 'files:write'] })
  t.ok(Date.parse(made.json.expiresAt as string) - Date.now() <= 3600_000)

  const bearer = { authorization: `Bearer ${secret}` }
  const upload = await b.app.inject({ method: 'POST', url: '/v1/files', headers: { ...bearer, 'content-type': 'text/plain', 'x-filename': 'a.txt' }, payload: 'hi' })
  t.equal(upload.statusCode, 201, 'usable on another instance, as Authorization: Bearer')
  const mine = await b.app.inject({ method: 'GET', url: '/v1/files', headers: { authorization: b.auth('alice') } })
  t.equal(mine.json().items.length, 1, 'the upload is its owner\'s')

  // Scopes: what it was not given, it may not do.
  const link = await b.app.inject({ method: 'POST', url: `/v1/files/${upload.json().id as string}/links`, headers: bearer, payload: {} })
  t.match(link.json(), { status: 403, code: 'LG_SCOPE', detail: /links:write/ }, 'no links:write')
  const shareOnUpload = await b.app.inject({ method: 'POST', url: '/v1/files?share=true', headers: { ...bearer, 'content-type': 'text/plain', 'x-filename': 'b.txt' }, payload: 'hi' })
  t.match(shareOnUpload.json(), { status: 403, code: 'LG_SCOPE' }, 'nor a link with its upload')
  t.equal((await b.app.inject({ method: 'GET', url: '/v1/links', headers: bearer })).statusCode, 403, 'no links:read')
  const self = await b.app.inject({ method: 'POST', url: '/v1/tokens', headers: bearer, payload: { name: 'more', scopes: ['files:read'] } })
  t.match(self.json(), { status: 403, code: 'LG_SCOPE' }, 'a token cannot make tokens')
  t.equal((await b.app.inject({ method: 'GET', url: '/v1/tokens', headers: bearer })).statusCode, 403, 'nor list them')

  const listed = await a.app.inject({ method: 'GET', url: '/v1/tokens', headers: { authorization: a.auth('alice') } })
  t.equal(listed.json().items.length, 1)
  t.notOk(listed.body.includes(secret), 'the secret is shown once, never listed')
  t.equal((await a.app.inject({ method: 'GET', url: '/v1/tokens', headers: { authorization: a.auth('bob') } })).json().items.length, 0, 'bob sees none of alice\'s')
  t.equal((await a.app.inject({ method: 'DELETE', url: `/v1/tokens/${made.json.id as string}`, headers: { authorization: a.auth('bob') } })).statusCode, 404, 'nor revokes them')

  // Stored hashed: the secret is nowhere in Redis.
  const client = new Redis(redis.url)
  t.teardown(() => client.disconnect())
  const keys = await client.keys(`${redis.keyPrefix}*`)
  const dump = (await Promise.all(keys.map(async (k) => {
    const type = await client.type(k)
    return type === 'string' ? await client.get(k) : type === 'hash' ? JSON.stringify(await client.hgetall(k)) : ''
  }))).join('\n')
  t.ok(keys.some((k) => k.includes('pat:')), 'the token is in Redis')
  t.notOk(dump.includes(secret) || keys.some((k) => k.includes(secret)), 'by its hash, not its secret')

  const revoked = await a.app.inject({ method: 'DELETE', url: `/v1/tokens/${made.json.id as string}`, headers: { authorization: a.auth('alice') } })
  t.equal(revoked.statusCode, 204)
  const after = await b.app.inject({ method: 'GET', url: '/v1/files', headers: bearer })
  t.equal(after.statusCode, 401, 'revoked on one instance: refused by the other at once')
  t.equal((await a.app.inject({ method: 'DELETE', url: `/v1/tokens/${made.json.id as string}`, headers: { authorization: a.auth('alice') } })).statusCode, 404, 'revoking twice: 404')

  t.strictSame(events.filter((e) => e.event.startsWith('token.')).map((e) => [e.event, e.sub]), [['token.created', 'alice'], ['token.revoked', 'alice']], 'audited')
  t.notOk(JSON.stringify(events).includes(secret), 'never with the secret')
})

t.test('bad options are a 400 naming them', async (t) => {
  const gw = await buildTestApp(t)
  const cases: Array<[string, Record<string, unknown>]> = [
    ['an unknown scope', { name: 'x', scopes: ['admin'] }],
    ['no scopes', { name: 'x', scopes: [] }],
    ['a scope twice', { name: 'x', scopes: ['files:read', 'files:read'] }],
    ['no name', { scopes: ['files:read'] }],
    ['a name with a control character', { name: 'a\nb', scopes: ['files:read'] }],
    ['a lifetime over a year', { name: 'x', scopes: ['files:read'], ttl: 366 * 86_400 }],
    ['a lifetime under a minute', { name: 'x', scopes: ['files:read'], ttl: 59 }],
    ['an unknown option', { name: 'x', scopes: ['files:read'], admin: true }]
  ]
  for (const [name, body] of cases) {
    const res = await makeToken(gw, body)
    t.equal(res.status, 400, name)
    t.notOk('token' in res.json, `${name}: no token made`)
  }
  t.equal((await gw.app.inject({ method: 'GET', url: '/v1/tokens', headers: { authorization: gw.auth('alice') } })).json().items.length, 0)
})

t.test(`at most ${MAX_TOKENS_PER_USER} live tokens a user, under parallel requests on two instances`, async (t) => {
  const redis = await startRedis(t)
  const a = await buildTestApp(t, { redis })
  const b = await buildTestApp(t, { redis })
  const results = await Promise.all(Array.from({ length: MAX_TOKENS_PER_USER + 20 }, async (_, i) => await makeToken(i % 2 === 0 ? a : b, { name: `t${i}`, scopes: ['files:read'] })))
  t.equal(results.filter((r) => r.status === 201).length, MAX_TOKENS_PER_USER, 'exactly the cap')
  t.ok(results.filter((r) => r.status !== 201).every((r) => r.status === 409 && r.json.code === 'LG_TOO_MANY_TOKENS'), 'the rest: 409, saying why')
  t.equal((await makeToken(a, { name: 'other user', scopes: ['files:read'] }, 'bob')).status, 201, 'another user is not affected')
})

const stores: Array<[string, (tt: Test) => Promise<TokenStore>]> = [
  ['memory', async () => new MemoryTokenStore()],
  ['Redis', async (tt) => {
    const redis = await startRedis(tt)
    const client = new Redis(redis.url, { keyPrefix: redis.keyPrefix })
    tt.teardown(() => client.disconnect())
    return new RedisTokenStore(client)
  }]
]

for (const [name, make] of stores) {
  t.test(`TokenStore contract: ${name}`, async (t) => {
    const store = await make(t)
    const now = Date.now()
    const token = (id: string, owner: string, expiresAt: number) => ({ id, owner, name: id, scopes: ['files:read' as const], createdAt: now + Number(id.slice(1)), expiresAt })
    t.ok(await store.createToken('h1', token('t1', 'ann', now + 60_000)))
    t.ok(await store.createToken('h2', token('t2', 'ann', now + 60_000)))
    t.ok(await store.createToken('h3', token('t3', 'ann', now - 1)), 'an already expired token (a clock past it)')
    t.match(await store.findToken('h1'), { id: 't1', owner: 'ann' })
    t.equal(await store.findToken('h3'), null, 'expired: not found')
    t.equal(await store.findToken('nope'), null)
    t.strictSame((await store.listTokens('ann')).map((x) => x.id), ['t2', 't1'], 'live ones, newest first')
    t.strictSame(await store.listTokens('bob'), [])
    t.notOk(await store.revokeToken('bob', 't1'), 'not bob\'s')
    t.ok(await store.revokeToken('ann', 't1'))
    t.equal(await store.findToken('h1'), null, 'revoked: not found')
    t.notOk(await store.revokeToken('ann', 't1'), 'twice: false')
    t.notOk(await store.revokeToken('ann', 't3'), 'an expired one: nothing to revoke')
  })
}
