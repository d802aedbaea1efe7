// The BudgetStore contract, shared by every adapter's suite (memory and Redis in stores.test.ts,
// Redis Cluster in test/plugins/redis-cluster.test.ts).
import type { Test } from 'tap'
import { newId } from '../../src/domain/ids.js'
import type { Budget, BudgetStore, BudgetVerdict } from '../../src/stores/budget-store.js'

export function budgetStoreContract (t: Test, make: (t: Test) => Promise<BudgetStore>): void {
  t.test('budgets: take counts and refuses over max, check refuses at max and counts nothing, the first refusal stops the rest', async (t) => {
    const store = await make(t)
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
    const store = await make(t)
    const budget: Budget = { key: `budget:short:${newId()}`, mode: 'take', max: 1, windowMs: 100 }
    t.match(await store.spend([budget]), { ok: true })
    const refused = await store.spend([budget])
    t.match(refused, { ok: false })
    // Waiting out the window is what this tests: time itself, not synchronisation.
    await new Promise((resolve) => setTimeout(resolve, 150))
    t.match(await store.spend([budget]), { ok: true })
  })

  t.test('refund gives a reservation back, never below zero, and only in its window', async (t) => {
    const store = await make(t)
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
    const store = await make(t)
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
