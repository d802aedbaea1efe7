// The LinkStore contract, shared by every adapter's suite (memory and Redis in stores.test.ts,
// Redis Cluster in test/plugins/redis-cluster.test.ts). A redemption spends budgets of the adapter's BudgetStore,
// which the suite reads back.
import type { Test } from 'tap'
import { newId } from '../../src/domain/ids.js'
import { hashToken, newToken } from '../../src/domain/tokens.js'
import type { Budget, BudgetStore } from '../../src/stores/budget-store.js'
import type { FileRecord, LinkStore } from '../../src/stores/link-store.js'
import { file, link } from '../helpers/records.js'

/** An API client that has checked nothing yet. */
export const API = { interactive: false, checked: false }

/** A LinkStore and the BudgetStore its redemptions spend. */
export interface LinkStoreAdapter { links: LinkStore, budgets: BudgetStore }

export function linkStoreContract (t: Test, make: (t: Test) => Promise<LinkStoreAdapter>): void {
  t.test('guarded links are not counted until the caller has checked them', async (t) => {
    const { links: store } = await make(t)
    const f = file()
    await store.putFile(f)
    const restricted = link(f, { access: { subjects: ['bob', 'carol'] } })
    const password = link(f, { passwordHash: 'scrypt$1$1$1$salt$hash' })
    const limited = link(f, { maxDownloads: 2 })
    for (const l of [restricted, password, limited]) await store.createLink(l.record)

    for (const l of [restricted, password]) {
      const first = await store.redeem(hashToken(l.token), API)
      t.match(first, { ok: false, reason: 'guarded', link: { id: l.record.id, downloads: 0 } })
      t.same(first.link, l.record, 'the whole record comes back, policy included')
      t.match(await store.redeem(hashToken(l.token), { interactive: false, checked: true }), { ok: true, link: { downloads: 1 } })
    }
    // A limited link is guarded for a browser (a page first), not for an API client.
    t.match(await store.redeem(hashToken(limited.token), { interactive: true, checked: false }), { ok: false, reason: 'guarded' })
    t.match(await store.redeem(hashToken(limited.token), API), { ok: true, link: { downloads: 1 } })
    t.match(await store.redeem(hashToken(limited.token), { interactive: true, checked: true }), { ok: true, link: { downloads: 2 } })
    t.match(await store.redeem(hashToken(limited.token), { interactive: true, checked: false }), { ok: false, reason: 'exhausted' }, 'spent beats guarded')
    await store.revokeLink(restricted.record.id, 1)
    t.match(await store.redeem(hashToken(restricted.token), API), { ok: false, reason: 'revoked' })
  })

  t.test('redeem spends its budgets first; a refusal reads and counts nothing', async (t) => {
    const { links: store } = await make(t)
    const f = file()
    await store.putFile(f)
    const { record, token } = link(f, { maxDownloads: 10 })
    await store.createLink(record)
    const requests: Budget = { key: `budget:redeem:${newId()}`, mode: 'take', max: 2, windowMs: 60_000 }
    const options = { ...API, budgets: [requests] }
    t.match(await store.redeem(hashToken(token), options), { ok: true, link: { downloads: 1 } })
    t.match(await store.redeem(hashToken(newToken()), options), { ok: false, reason: 'not_found' }, 'an unknown token spends one too')
    const limited = await store.redeem(hashToken(token), options)
    t.match(limited, { ok: false, reason: 'limited', link: null, verdict: { ok: false, refused: requests } })
    t.equal((await store.peek(hashToken(token)))?.downloads, 1, 'the refused redemption counted no download')
    t.match(await store.redeem(hashToken(token), API), { ok: true, link: { downloads: 2 } }, 'without budgets, nothing stops it')

    // Many clients at once: their budgets' keys spread over every shard of a Cluster.
    const clients = Array.from({ length: 40 }, (_, i): Budget[] => [
      { key: `budget:miss:${newId()}-${i}`, mode: 'check', max: 5, windowMs: 60_000 },
      { key: `budget:redeem:${newId()}-${i}`, mode: 'take', max: 5, windowMs: 60_000 }
    ])
    const racing = await Promise.all(clients.map(async (budgets) => await store.redeem(hashToken(token), { ...API, budgets })))
    t.equal(racing.filter((r) => !r.ok && r.reason === 'limited').length, 0, 'no client was over its budget')
    t.equal(racing.filter((r) => r.ok).length, 8, 'the link granted the 8 downloads it had left')
    t.equal((await store.peek(hashToken(token)))?.downloads, 10)
  })

  t.test('redeem\'s misses: a reservation kept for an unknown or expired token, given back otherwise, in parallel too', async (t) => {
    const { links: store, budgets } = await make(t)
    const f = file()
    await store.putFile(f)
    const live = link(f, { maxDownloads: 1 })
    const expired = link(f, { createdAt: Date.now() - 7200_000, expiresAt: Date.now() - 1000 })
    for (const l of [live, expired]) await store.createLink(l.record)
    const misses: Budget = { key: `budget:miss:${newId()}`, mode: 'take', max: 3, windowMs: 60_000 }
    const check = { ...misses, mode: 'check' as const }
    const redeem = async (token: string, budgets: Budget[] = []): Promise<string> => {
      const r = await store.redeem(hashToken(token), { ...API, misses, budgets })
      return r.ok ? 'ok' : r.reason
    }
    t.same([await redeem(live.token), await redeem(live.token)], ['ok', 'exhausted'], 'a live link, even exhausted, is no miss')
    t.match(await budgets.spend([{ ...check, max: 1 }]), { ok: true }, 'nothing kept')
    t.equal(await redeem(expired.token), 'expired')
    t.equal(await redeem(newToken()), 'not_found')
    t.match(await budgets.spend([{ ...check, max: 2 }]), { ok: false }, 'two misses kept')
    const refused = { key: `budget:redeem:${newId()}`, mode: 'take' as const, max: 0, windowMs: 60_000 }
    t.equal(await redeem(newToken(), [refused]), 'limited')
    t.match(await budgets.spend([{ ...check, max: 3 }]), { ok: true }, 'a refusal after the reservation gives it back')

    const racing: Budget = { ...misses, key: `budget:miss:${newId()}`, max: 5 }
    const raced = await Promise.all(Array.from({ length: 40 }, async () => await store.redeem(hashToken(newToken()), { ...API, misses: racing })))
    t.equal(raced.filter((r) => !r.ok && r.reason === 'not_found').length, 5, 'racing guesses look up exactly max')
  })

  t.test('peek reads a link without counting', async (t) => {
    const { links: store } = await make(t)
    const f = file()
    await store.putFile(f)
    const { record, token } = link(f, { maxDownloads: 1, disposition: 'inline' })
    await store.createLink(record)
    t.same(await store.peek(hashToken(token)), record)
    t.same(await store.peek(hashToken(token)), record)
    t.equal(await store.peek(hashToken(newToken())), null)
  })

  t.test('file records round-trip, and a missing one is null', async (t) => {
    const { links: store } = await make(t)
    const f = file()
    await store.putFile(f)
    t.same(await store.getFile(f.id), f)
    t.equal(await store.getFile(newId()), null)
  })

  t.test('files list newest first, page by cursor, and only the owner\'s', async (t) => {
    const { links: store } = await make(t)
    const mine: FileRecord[] = []
    for (let i = 0; i < 5; i++) {
      const f = file('bob', { id: newId(Date.now() + i) })
      mine.push(f)
      await store.putFile(f)
    }
    await store.putFile(file('carol'))
    const first = await store.listFiles('bob', { limit: 3 })
    t.same(first.items.map((f) => f.id), mine.slice(2).reverse().map((f) => f.id))
    t.equal(first.next, mine[2]?.id)
    const second = await store.listFiles('bob', { limit: 3, after: first.next ?? undefined })
    t.same(second.items.map((f) => f.id), [mine[1]?.id, mine[0]?.id])
    t.equal(second.next, null)
  })

  t.test('a link is redeemed, counting each download', async (t) => {
    const { links: store } = await make(t)
    const f = file()
    await store.putFile(f)
    const { record, token } = link(f)
    t.equal(await store.createLink(record), true)
    const first = await store.redeem(hashToken(token), API)
    t.equal(first.ok, true)
    t.equal(first.link?.downloads, 1)
    t.equal(first.link?.objectKey, f.key)
    t.equal(first.link?.filename, f.filename)
    const second = await store.redeem(hashToken(token), API)
    t.equal(second.link?.downloads, 2)
    t.same(await store.getLink(record.id), { ...record, downloads: 2 })
  })

  t.test('an unknown token is not_found', async (t) => {
    const { links: store } = await make(t)
    t.same(await store.redeem(hashToken(newToken()), API), { ok: false, reason: 'not_found', link: null })
  })

  t.test('a link to a missing file is refused', async (t) => {
    const { links: store } = await make(t)
    const { record } = link(file())
    t.equal(await store.createLink(record), false)
    t.equal(await store.getLink(record.id), null)
  })

  t.test('maxDownloads: exactly N redemptions, sequential and racing', async (t) => {
    const { links: store } = await make(t)
    const f = file()
    await store.putFile(f)
    const seq = link(f, { maxDownloads: 3 })
    await store.createLink(seq.record)
    const outcomes = []
    for (let i = 0; i < 5; i++) outcomes.push(await store.redeem(hashToken(seq.token), API))
    t.same(outcomes.map((o) => o.ok ? 'ok' : o.reason), ['ok', 'ok', 'ok', 'exhausted', 'exhausted'])

    const race = link(f, { maxDownloads: 5 })
    await store.createLink(race.record)
    const results = await Promise.all(Array.from({ length: 100 }, async () => await store.redeem(hashToken(race.token), API)))
    t.equal(results.filter((r) => r.ok).length, 5)
    t.equal(results.filter((r) => !r.ok && r.reason === 'exhausted').length, 95)
    t.equal((await store.getLink(race.record.id))?.downloads, 5)
  })

  t.test('an expired link is told apart from an unknown one, and grants nothing', async (t) => {
    const { links: store } = await make(t)
    const f = file()
    await store.putFile(f)
    const { record, token } = link(f, { createdAt: Date.now() - 7200_000, expiresAt: Date.now() - 1000 })
    await store.createLink(record)
    const result = await store.redeem(hashToken(token), API)
    t.equal(result.ok, false)
    t.equal(result.ok ? null : result.reason, 'expired')
    t.equal((await store.getLink(record.id))?.downloads, 0)
  })

  t.test('revoking stops redemption; revoking an unknown link says so', async (t) => {
    const { links: store } = await make(t)
    const f = file()
    await store.putFile(f)
    const { record, token } = link(f)
    await store.createLink(record)
    t.equal(await store.revokeLink(record.id, 1234), true)
    const result = await store.redeem(hashToken(token), API)
    t.equal(result.ok ? null : result.reason, 'revoked')
    t.equal((await store.getLink(record.id))?.revokedAt, 1234)
    t.equal(await store.revokeLink(newId(), 1), false)
  })

  t.test('deleting a file deletes every link to it', async (t) => {
    const { links: store } = await make(t)
    const f = file('dave')
    const other = file('dave')
    await store.putFile(f)
    await store.putFile(other)
    const a = link(f)
    const b = link(f, { maxDownloads: 2 })
    const c = link(other)
    for (const l of [a, b, c]) await store.createLink(l.record)
    t.same(await store.deleteFile(f.id), f)
    t.equal(await store.getFile(f.id), null)
    t.equal(await store.getLink(a.record.id), null)
    t.equal((await store.redeem(hashToken(b.token), API)).ok, false)
    t.same((await store.listLinks('dave', { limit: 10 })).items.map((l) => l.id), [c.record.id])
    t.same((await store.listFiles('dave', { limit: 10 })).items.map((x) => x.id), [other.id])
    t.equal(await store.deleteFile(f.id), null)
  })

  t.test('links list newest first, page by cursor, and only the owner\'s', async (t) => {
    const { links: store } = await make(t)
    const f = file('erin')
    await store.putFile(f)
    const ids = []
    for (let i = 0; i < 3; i++) {
      const l = link(f, { id: newId(Date.now() + i) })
      ids.push(l.record.id)
      await store.createLink(l.record)
    }
    const first = await store.listLinks('erin', { limit: 2 })
    t.same(first.items.map((l) => l.id), [ids[2], ids[1]])
    const second = await store.listLinks('erin', { limit: 2, after: first.next ?? undefined })
    t.same(second.items.map((l) => l.id), [ids[0]])
    t.equal(second.next, null)
    t.same((await store.listLinks('frank', { limit: 2 })).items, [])
  })
}
