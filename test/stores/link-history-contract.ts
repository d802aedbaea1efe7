// The LinkHistory contract, shared by every adapter's suite (memory and Redis in stores.test.ts,
// Redis Cluster in test/plugins/redis-cluster.test.ts).
import type { Test } from 'tap'
import { auditEvent, type AuditEvent } from '../../src/audit.js'
import { newId } from '../../src/domain/ids.js'
import { LINK_HISTORY_MAX, type LinkHistory } from '../../src/stores/link-history.js'

export function linkHistoryContract (t: Test, make: (t: Test) => Promise<LinkHistory>): void {
  t.test('a link\'s history keeps the newest LINK_HISTORY_MAX events, newest first, whatever the batches', async (t) => {
    const store = await make(t)
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
    const store = await make(t)
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
}
