// The LinkStore contract, shared by every adapter's suite (memory and Redis in
// link-store.test.ts, Redis Cluster in plugins/redis-cluster.test.ts).
import type { Test } from 'tap'
import { newId } from '../../src/domain/ids.js'
import { hashToken, newToken } from '../../src/domain/tokens.js'
import { auditEvent, type AuditEvent } from '../../src/audit.js'
import { LINK_HISTORY_MAX, type Budget, type BudgetVerdict, type FileRecord, type LinkStore } from '../../src/stores/link-store.js'
import { file, link } from '../helpers/records.js'

/** An API client that has checked nothing yet. */
export const API = { interactive: false, checked: false }

export function contract (t: Test, makeStore: (t: Test) => Promise<LinkStore>): void {
  t.test('guarded links are not counted until the caller has checked them', async (t) => {
    const store = await makeStore(t)
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

  t.test('budgets: take counts and refuses over max, check refuses at max and counts nothing, the first refusal stops the rest', async (t) => {
    const store = await makeStore(t)
    const key = (name: string): string => `budget:${name}:${newId()}`
    const requests: Budget = { key: key('requests'), mode: 'take', max: 2, windowMs: 60_000 }
    const misses: Budget = { key: key('misses'), mode: 'check', max: 1, windowMs: 600_000 }
    const verdicts = []
    for (let i = 0; i < 3; i++) verdicts.push(await store.spend([requests]))
    t.match(verdicts, [{ ok: true }, { ok: true }, { ok: false, refused: requests }])
    const refused = verdicts[2] as BudgetVerdict & { ok: false }
    t.ok(refused.resetMs > 55_000 && refused.resetMs <= 60_000, `the window's rest (${refused.resetMs} ms)`)

    const other = { ...requests, key: key('requests') }
    t.match(await store.spend([misses, other]), { ok: true }, 'nothing counted yet: the check passes')
    t.match(await store.spend([{ ...misses, mode: 'take', max: 10 }]), { ok: true }, 'a miss is counted')
    t.match(await store.spend([misses, other]), { ok: false, refused: misses }, 'the check refuses at max')
    t.match(await store.spend([{ ...other, max: 1 }]), { ok: false }, 'the refused check stopped the take after it: one was counted, not two')
    const inMissWindow = await store.spend([misses])
    t.ok(!inMissWindow.ok && inMissWindow.resetMs > 590_000, 'a check reports its own window')

    const racing = { ...requests, key: key('race'), max: 7 }
    const raced = await Promise.all(Array.from({ length: 50 }, async () => await store.spend([racing])))
    t.equal(raced.filter((v) => v.ok).length, 7, 'racing takes grant exactly max')
  })

  t.test('a window ends: its budget is whole again', async (t) => {
    const store = await makeStore(t)
    const budget: Budget = { key: `budget:short:${newId()}`, mode: 'take', max: 1, windowMs: 100 }
    t.match(await store.spend([budget]), { ok: true })
    const refused = await store.spend([budget])
    t.match(refused, { ok: false })
    // Waiting out the window is what this tests: time itself, not synchronisation.
    await new Promise((resolve) => setTimeout(resolve, 150))
    t.match(await store.spend([budget]), { ok: true })
  })

  t.test('redeem spends its budgets first; a refusal reads and counts nothing', async (t) => {
    const store = await makeStore(t)
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
    const store = await makeStore(t)
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
    t.match(await store.spend([{ ...check, max: 1 }]), { ok: true }, 'nothing kept')
    t.equal(await redeem(expired.token), 'expired')
    t.equal(await redeem(newToken()), 'not_found')
    t.match(await store.spend([{ ...check, max: 2 }]), { ok: false }, 'two misses kept')
    const refused = { key: `budget:redeem:${newId()}`, mode: 'take' as const, max: 0, windowMs: 60_000 }
    t.equal(await redeem(newToken(), [refused]), 'limited')
    t.match(await store.spend([{ ...check, max: 3 }]), { ok: true }, 'a refusal after the reservation gives it back')

    const racing: Budget = { ...misses, key: `budget:miss:${newId()}`, max: 5 }
    const raced = await Promise.all(Array.from({ length: 40 }, async () => await store.redeem(hashToken(newToken()), { ...API, misses: racing })))
    t.equal(raced.filter((r) => !r.ok && r.reason === 'not_found').length, 5, 'racing guesses look up exactly max')
  })

  t.test('peek reads a link without counting', async (t) => {
    const store = await makeStore(t)
    const f = file()
    await store.putFile(f)
    const { record, token } = link(f, { maxDownloads: 1, disposition: 'inline' })
    await store.createLink(record)
    t.same(await store.peek(hashToken(token)), record)
    t.same(await store.peek(hashToken(token)), record)
    t.equal(await store.peek(hashToken(newToken())), null)
  })

  t.test('file records round-trip, and a missing one is null', async (t) => {
    const store = await makeStore(t)
    const f = file()
    await store.putFile(f)
    t.same(await store.getFile(f.id), f)
    t.equal(await store.getFile(newId()), null)
  })

  t.test('files list newest first, page by cursor, and only the owner\'s', async (t) => {
    const store = await makeStore(t)
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
    const store = await makeStore(t)
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
    const store = await makeStore(t)
    t.same(await store.redeem(hashToken(newToken()), API), { ok: false, reason: 'not_found', link: null })
  })

  t.test('a link to a missing file is refused', async (t) => {
    const store = await makeStore(t)
    const { record } = link(file())
    t.equal(await store.createLink(record), false)
    t.equal(await store.getLink(record.id), null)
  })

  t.test('maxDownloads: exactly N redemptions, sequential and racing', async (t) => {
    const store = await makeStore(t)
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
    const store = await makeStore(t)
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
    const store = await makeStore(t)
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
    const store = await makeStore(t)
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
    const store = await makeStore(t)
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

  t.test('a link\'s history keeps the newest LINK_HISTORY_MAX events, newest first, whatever the batches', async (t) => {
    const store = await makeStore(t)
    const linkId = newId()
    const event = (n: number): AuditEvent => auditEvent('link.redeemed', { reqId: `req-${n}`, ip: '127.0.0.1', userAgent: undefined, sub: null }, { linkId })
    const keepUntil = Date.now() + 60_000
    let n = 0
    // One small batch, then one bigger than the cap (and than a script's unpack at once).
    for (const size of [3, LINK_HISTORY_MAX + 500]) {
      await store.appendEvents(linkId, { lifecycle: Array.from({ length: size }, () => JSON.stringify(event(n++))), denials: [] }, keepUntil)
    }
    const history = await store.listEvents(linkId, LINK_HISTORY_MAX + 100)
    t.equal(history.length, LINK_HISTORY_MAX, 'capped')
    t.same(history.map((e) => e.reqId), Array.from({ length: LINK_HISTORY_MAX }, (_, i) => `req-${n - 1 - i}`), 'the newest, newest first')
    t.same((await store.listEvents(linkId, 2)).map((e) => e.reqId), [`req-${n - 1}`, `req-${n - 2}`], 'a limit takes the newest')
    t.same(history[0], { ...event(n - 1), time: history[0]?.time }, 'events come back whole')
    t.same(await store.listEvents(newId(), 10), [], 'no history')
  })
  t.test('denials are kept apart: a flood of them never pushes out the link\'s own lifecycle', async (t) => {
    const store = await makeStore(t)
    const linkId = newId()
    const keepUntil = Date.now() + 60_000
    const at = (ms: number): number => Date.parse('2026-01-01T00:00:00Z') + ms
    const event = (name: 'link.created' | 'link.redeemed' | 'link.denied', ms: number): string =>
      JSON.stringify(auditEvent(name, { reqId: `${name}-${ms}`, ip: '127.0.0.1', userAgent: undefined, sub: null, now: at(ms) }, { linkId }))
    await store.appendEvents(linkId, { lifecycle: [event('link.created', 0)], denials: [] }, keepUntil)
    await store.appendEvents(linkId, { lifecycle: [], denials: Array.from({ length: LINK_HISTORY_MAX + 200 }, (_, i) => event('link.denied', 10 + i)) }, keepUntil)
    await store.appendEvents(linkId, { lifecycle: [event('link.redeemed', 5)], denials: [] }, keepUntil)
    const all = await store.listEvents(linkId, 3 * LINK_HISTORY_MAX)
    t.equal(all.length, LINK_HISTORY_MAX + 2, 'the capped denials and the whole lifecycle')
    t.same(all.slice(-2).map((e) => e.reqId), ['link.redeemed-5', 'link.created-0'], 'the lifecycle is still there, in time order')
    t.ok(all.every((e, i) => i === 0 || (all[i - 1]?.time ?? '') >= e.time), 'newest first across both kinds')
    t.same((await store.listEvents(linkId, 2)).map((e) => e.reqId), ['link.redeemed-5', 'link.created-0'], 'a limit keeps the lifecycle first')
    const three = await store.listEvents(linkId, 3)
    t.same(three.map((e) => e.reqId), [`link.denied-${10 + LINK_HISTORY_MAX + 199}`, 'link.redeemed-5', 'link.created-0'], 'denials fill the room left, the newest')
  })

  t.test('refund gives a reservation back, never below zero, and only in its window', async (t) => {
    const store = await makeStore(t)
    const misses: Budget = { key: `budget:miss:${newId()}`, mode: 'take', max: 2, windowMs: 60_000 }
    t.match(await store.spend([misses]), { ok: true })
    t.match(await store.spend([misses]), { ok: true })
    await store.refund([misses])
    t.match(await store.spend([misses]), { ok: true }, 'the refunded count is free again')
    t.match(await store.spend([misses]), { ok: false }, 'but no more than that')
    const fresh: Budget = { ...misses, key: `budget:miss:${newId()}` }
    await store.refund([fresh, fresh])
    t.match(await store.spend([fresh]), { ok: true })
    t.match(await store.spend([fresh]), { ok: true })
    t.match(await store.spend([fresh]), { ok: false }, 'refunds of nothing gave nothing')

    // Racing reservations against a budget of 5, each given back (granted or not): the
    // count never passes 5 for long, and ends at zero.
    const racing: Budget = { ...misses, key: `budget:miss:${newId()}`, max: 5 }
    const granted = await Promise.all(Array.from({ length: 40 }, async () => {
      const verdict = await store.spend([racing])
      await store.refund([racing])
      return verdict.ok
    }))
    t.ok(granted.filter(Boolean).length >= 5, 'at least the budget was granted')
    const after = await Promise.all(Array.from({ length: 8 }, async () => (await store.spend([racing])).ok))
    t.equal(after.filter(Boolean).length, 5, 'every reservation was given back: the whole budget is there again')
  })

  t.test('slots: at most max holders at once, renewed by taking again, freed by release or a lapsed lease', async (t) => {
    const store = await makeStore(t)
    const key = `slots:uploads:${newId()}`
    const slot = (id: string, leaseMs = 60_000): { key: string, id: string, max: number, leaseMs: number } => ({ key, id, max: 2, leaseMs })
    const raced = await Promise.all(Array.from({ length: 20 }, async (_, i) => await store.acquireSlot(slot(`u${i}`))))
    t.equal(raced.filter(Boolean).length, 2, 'racing acquirers: exactly max get a slot')
    const holders = raced.flatMap((ok, i) => ok ? [`u${i}`] : [])
    t.equal(await store.acquireSlot(slot(holders[0] ?? '')), true, 'a holder renews its slot')
    t.equal(await store.acquireSlot(slot('late')), false)
    await store.releaseSlot(key, holders[0] ?? '')
    t.equal(await store.acquireSlot(slot('late', 50)), true, 'a released slot is free')
    t.equal(await store.acquireSlot(slot('later')), false)
    // Waiting out the lease is what this tests: time itself, not synchronisation.
    await new Promise((resolve) => setTimeout(resolve, 100))
    t.equal(await store.acquireSlot(slot('later')), true, 'a lapsed lease frees its slot')
    await store.releaseSlot(key, 'nobody')
    t.equal(await store.acquireSlot({ ...slot('other'), key: `slots:uploads:${newId()}` }), true, 'keys are independent')
  })
}
