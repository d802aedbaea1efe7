// File retention: ?retention= on upload, the claim that hands each due file to one
// sweeper, and the sweeper deleting object, record and links — on Redis and in memory.
import { Redis } from 'ioredis'
import t, { type Test } from 'tap'
import { newId } from '../../src/domain/ids.js'
import type { FileRecord, LinkStore } from '../../src/stores/link-store.js'
import { MemoryLinkStore } from '../../src/stores/memory-link-store.js'
import { MemoryBudgetStore } from '../../src/stores/memory-budget-store.js'
import { RedisStore } from '../../src/stores/redis-store.js'
import { buildTestApp } from '../helpers/app.js'
import { startRedis } from '../helpers/redis.js'
import { startS3 } from '../helpers/s3.js'

const redis = await startRedis(t)
const s3 = await startS3(t)

function file (expiresAt: number | null): FileRecord {
  const id = newId()
  return { id, owner: 'keeper', key: `files/${id}`, filename: 'f', size: 1, contentType: 'text/plain', sha256: '', createdAt: Date.now(), expiresAt }
}

function claims (t: Test, makeStore: () => Promise<LinkStore>): void {
  t.test('only due files are claimed, each by one caller, again after a lapsed lease, never after deletion', async (t) => {
    const store = await makeStore()
    const now = Date.now()
    const due = [file(now - 1000), file(now - 10), file(now)]
    const later = file(now + 60_000)
    const forever = file(null)
    for (const f of [...due, later, forever]) await store.putFile(f)
    const [a, b] = await Promise.all([store.claimExpiredFiles(now, 60_000, 100), store.claimExpiredFiles(now, 60_000, 100)])
    t.same([...(a ?? []), ...(b ?? [])].map((f) => f.id).sort(), due.map((f) => f.id).sort(), 'every due file claimed exactly once')
    t.same(await store.claimExpiredFiles(now + 59_000, 60_000, 100), [], 'nothing while the lease holds (the later file is not due yet)')
    const lapsed = await store.claimExpiredFiles(now + 61_000, 60_000, 100)
    t.same(lapsed.map((f) => f.id).sort(), [...due, later].map((f) => f.id).sort(), 'a claimer that died: its files come back')
    for (const f of lapsed) await store.deleteFile(f.id)
    t.same(await store.claimExpiredFiles(now + 10 * 60_000, 60_000, 100), [], 'deleted files are gone from the claims')
    t.ok(await store.getFile(forever.id), 'a file without retention stays')
  })

  t.test('claims come in batches', async (t) => {
    const store = await makeStore()
    const now = Date.now()
    for (let i = 0; i < 5; i++) await store.putFile(file(now - 1))
    t.equal((await store.claimExpiredFiles(now, 1000, 2)).length, 2)
    t.equal((await store.claimExpiredFiles(now, 1000, 10)).length, 3)
  })
}

t.test('memory claims', async (t) => {
  claims(t, async () => {
    const budgets = new MemoryBudgetStore()
    const store = new MemoryLinkStore(budgets)
    t.teardown(() => { store.close(); budgets.close() })
    return store
  })
})

t.test('redis claims', async (t) => {
  let n = 0
  claims(t, async () => {
    const client = new Redis(redis.url, { keyPrefix: `${redis.keyPrefix}claims${++n}:` })
    t.teardown(async () => { await client.quit() })
    return new RedisStore(client)
  })
})

t.test('uploads with a retention are swept: object, record and links, exactly once across instances', async (t) => {
  const prefix = `${redis.keyPrefix}sweep:`
  const deps = { redis: { ...redis, keyPrefix: prefix }, s3 }
  const one = await buildTestApp(t, deps, { fileMaxRetention: 3600 })
  const two = await buildTestApp(t, deps, { fileMaxRetention: 3600 })
  const auth = one.auth('keeper')

  const refused = await one.app.inject({ method: 'POST', url: '/v1/files?filename=x&retention=3601', headers: { authorization: auth, 'content-type': 'text/plain' }, body: 'x' })
  t.equal(refused.statusCode, 400)
  t.match(refused.json(), { code: 'LG_RETENTION_TOO_LONG' })

  const uploads = []
  for (let i = 0; i < 12; i++) {
    const res = await one.app.inject({ method: 'POST', url: '/v1/files?filename=x.txt&retention=60&share=true', headers: { authorization: auth, 'content-type': 'text/plain' }, body: `file ${i}` })
    t.equal(res.statusCode, 201)
    uploads.push(res.json() as { id: string, expiresAt: string, link: { token: string } })
  }
  const kept = await one.app.inject({ method: 'POST', url: '/v1/files?filename=kept.txt', headers: { authorization: auth, 'content-type': 'text/plain' }, body: 'kept' })
  t.ok(Math.abs(Date.parse(kept.json().expiresAt) - Date.now() - 3600_000) < 5000, 'no retention asked: FILE_MAX_RETENTION applies')
  t.ok(Math.abs(Date.parse(uploads[0]?.expiresAt ?? '') - Date.now() - 60_000) < 5000)

  t.same([await one.app.sweeper.runOnce(), await two.app.sweeper.runOnce()], [0, 0], 'nothing is due yet')

  const deletions: string[] = []
  for (const { app } of [one, two]) app.auditEvents.on('event', (e) => { if (e.event === 'file.deleted') deletions.push(e.fileId ?? '') })
  const later = Date.now() + 61_000
  const counts = await Promise.all([one.app.sweeper.runOnce(later), two.app.sweeper.runOnce(later)])
  t.equal(counts[0] + counts[1], 12, 'the two instances together deleted every due file')
  t.same(deletions.sort(), uploads.map((u) => u.id).sort(), 'each exactly once')

  t.same(await s3.listKeys(), [`files/${kept.json().id}`], 'only the file not yet due is left in the bucket')
  const list = await one.app.inject({ url: '/v1/files', headers: { authorization: auth } })
  t.same(list.json().items.map((f: { id: string }) => f.id), [kept.json().id])
  t.equal((await two.app.inject({ url: `/s/${uploads[0]?.link.token ?? ''}` })).statusCode, 404, 'their links are gone')
})
