// The UsageStore contract, shared by every adapter's suite (memory and Redis in stores.test.ts,
// Redis Cluster in test/plugins/redis-cluster.test.ts).
import type { Test } from 'tap'
import { newId } from '../../src/domain/ids.js'
import { usageKey, type Caps, type UsageStore } from '../../src/stores/usage-store.js'

const UNLIMITED: Caps = { bytes: null, files: null }

export function usageStoreContract (t: Test, make: (t: Test) => Promise<UsageStore>): void {
  const user = (): string => usageKey(`user-${newId()}`)

  t.test('usage: reserve adds within the caps, a refusal changes nothing and says where it stands', async (t) => {
    const store = await make(t)
    const key = user()
    t.same(await store.get(key), { bytes: 0, files: 0 }, 'an unknown user has used nothing')
    const caps: Caps = { bytes: 100, files: 2 }
    t.same(await store.reserve(key, { bytes: 0, files: 1 }, caps), { ok: true, usage: { bytes: 0, files: 1 } })
    t.same(await store.reserve(key, { bytes: 60, files: 0 }, caps), { ok: true, usage: { bytes: 60, files: 1 } })
    t.same(await store.reserve(key, { bytes: 41, files: 0 }, caps), { ok: false, usage: { bytes: 60, files: 1 } }, 'one byte over')
    t.same(await store.reserve(key, { bytes: 40, files: 0 }, caps), { ok: true, usage: { bytes: 100, files: 1 } }, 'exactly the cap')
    t.same(await store.reserve(key, { bytes: 0, files: 1 }, caps), { ok: true, usage: { bytes: 100, files: 2 } }, 'a counter that gets nothing does not refuse, even at its cap')
    t.same(await store.reserve(key, { bytes: 0, files: 1 }, caps), { ok: false, usage: { bytes: 100, files: 2 } }, 'the files cap')
    t.same(await store.reserve(key, { bytes: 1, files: 1 }, { bytes: null, files: 3 }), { ok: true, usage: { bytes: 101, files: 3 } }, 'null: no cap')
    t.same(await store.reserve(key, { bytes: 0, files: 1 }, { bytes: 50, files: 4 }), { ok: true, usage: { bytes: 101, files: 4 } }, 'over a cap lowered since, the other counter still counts')
    t.same(await store.reserve(key, { bytes: 1, files: 1 }, { bytes: 50, files: 10 }), { ok: false, usage: { bytes: 101, files: 4 } }, 'one counter refusing refuses both')
    t.same(await store.get(key), { bytes: 101, files: 4 })
    t.same(await store.get(user()), { bytes: 0, files: 0 }, 'users are apart')
  })

  t.test('usage: release subtracts, never below zero', async (t) => {
    const store = await make(t)
    const key = user()
    await store.reserve(key, { bytes: 500, files: 3 }, UNLIMITED)
    await store.release(key, { bytes: 200, files: 1 })
    t.same(await store.get(key), { bytes: 300, files: 2 })
    await store.release(key, { bytes: 1000, files: 0 })
    t.same(await store.get(key), { bytes: 0, files: 2 }, 'bytes floor at zero, files untouched')
    await store.release(key, { bytes: 0, files: 5 })
    t.same(await store.get(key), { bytes: 0, files: 0 })
    await store.release(user(), { bytes: 10, files: 1 })
    t.same(await store.reserve(key, { bytes: 7, files: 1 }, { bytes: 7, files: 1 }), { ok: true, usage: { bytes: 7, files: 1 } }, 'released usage is free again')
  })

  t.test('usage: sizes past 2^53 / 1000 (petabytes) count exactly', async (t) => {
    const store = await make(t)
    const key = user()
    const big = 2 ** 50 + 3
    await store.reserve(key, { bytes: big, files: 1 }, UNLIMITED)
    await store.reserve(key, { bytes: big, files: 1 }, UNLIMITED)
    t.same(await store.get(key), { bytes: 2 * big, files: 2 })
    await store.release(key, { bytes: big, files: 1 })
    t.same(await store.get(key), { bytes: big, files: 1 })
  })

  t.test('usage: racing reservations never pass a cap, and racing releases lose nothing', async (t) => {
    const store = await make(t)
    const key = user()
    const caps: Caps = { bytes: 300, files: 1000 }
    const bytes = await Promise.all(Array.from({ length: 100 }, async () => await store.reserve(key, { bytes: 7, files: 1 }, caps)))
    t.equal(bytes.filter((r) => r.ok).length, 42, '42 × 7 bytes fit under 300, and no more')
    for (const r of bytes) t.ok(r.usage.bytes <= 300, 'no answer saw the cap passed')
    t.same(await store.get(key), { bytes: 294, files: 42 })

    const files = await Promise.all(Array.from({ length: 50 }, async () => await store.reserve(key, { bytes: 0, files: 1 }, { bytes: 300, files: 52 })))
    t.equal(files.filter((r) => r.ok).length, 10, 'ten more files, exactly')

    await Promise.all(Array.from({ length: 52 }, async () => { await store.release(key, { bytes: 7, files: 1 }) }))
    t.same(await store.get(key), { bytes: 0, files: 0 }, 'every racing release counted')
  })
}
