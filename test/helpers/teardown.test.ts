// The helpers count on tap running teardowns last registered first: what a test started
// last (a gateway) is stopped before what it depends on (its Redis).
import t from 'tap'
import type { Teardown } from './teardown.js'

function register (t: Teardown, order: string[], name: string): void {
  t.teardown(() => { order.push(name) })
}

t.test('a Teardown runs its functions in reverse order, once the test is over', async (t) => {
  const order: string[] = []
  await t.test('registers three', async (t) => {
    for (const name of ['redis', 's3', 'gateway']) register(t, order, name)
    t.same(order, [], 'nothing runs before the test ends')
  })
  t.same(order, ['gateway', 's3', 'redis'])
})

t.test('an async teardown is awaited before the next one runs', async (t) => {
  const order: string[] = []
  await t.test('registers two', async (t) => {
    t.teardown(() => { order.push('first registered') })
    t.teardown(async () => {
      await new Promise<void>((resolve) => setImmediate(resolve))
      order.push('last registered, async')
    })
    t.same(order, [], 'nothing runs before the test ends')
  })
  t.same(order, ['last registered, async', 'first registered'])
})
