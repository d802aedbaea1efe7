import t from 'tap'
import { ConcurrencyLimit } from '../../src/domain/concurrency-limit.js'

t.test('at most total at once, at most perKey for one key; release frees exactly one, once', async (t) => {
  const limit = new ConcurrencyLimit(3, 2)
  const a1 = limit.tryAcquire('a')
  const a2 = limit.tryAcquire('a')
  t.ok(a1 !== null && a2 !== null)
  t.equal(limit.tryAcquire('a'), null, 'a third for one key is refused')
  const b1 = limit.tryAcquire('b')
  t.ok(b1 !== null)
  t.equal(limit.tryAcquire('c'), null, 'the total is reached')
  a1?.()
  a1?.()
  const c1 = limit.tryAcquire('c')
  t.ok(c1 !== null, 'one released, one free')
  t.equal(limit.tryAcquire('c'), null, 'releasing twice freed one, not two')
  a2?.()
  b1?.()
  c1?.()
  t.ok(limit.tryAcquire('a') !== null && limit.tryAcquire('a') !== null && limit.tryAcquire('b') !== null, 'all free again')
})
