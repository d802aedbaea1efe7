import t from 'tap'
import { poll, TimeoutError, withTimeout } from './wait.js'

function timers (): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length
}

t.test('withTimeout: the value of work that settles in time, and no timer left behind', async (t) => {
  const before = timers()
  t.equal(await withTimeout('quick', Promise.resolve(42), 10_000), 42)
  t.equal(timers(), before, 'the timer is cleared')
})

t.test('withTimeout: work that fails in time fails with its own error', async (t) => {
  await t.rejects(withTimeout('failing', Promise.reject(new Error('its own')), 10_000), { message: 'its own' })
})

t.test('withTimeout: work that takes too long rejects with its name and the bound', async (t) => {
  const never = new Promise<never>(() => {})
  const err: unknown = await withTimeout('the slow thing', never, 20).catch((e: unknown) => e)
  t.type(err, TimeoutError)
  t.equal((err as Error).message, 'the slow thing: no answer within 20 ms')
})

t.test('poll: the first value that is done', async (t) => {
  let calls = 0
  const value = await poll(async () => ++calls, (n) => n === 3, { timeoutMs: 10_000, intervalMs: 1 })
  t.equal(value, 3)
  t.equal(calls, 3, 'no call after it')
})

t.test('poll: past the deadline, the last value, for the caller to assert on', async (t) => {
  let calls = 0
  const started = performance.now()
  const value = await poll(async () => ++calls, () => false, { timeoutMs: 50, intervalMs: 5 })
  t.equal(value, calls, 'the last value')
  t.ok(calls > 1, `it kept trying (${calls} calls)`)
  t.ok(performance.now() - started >= 50, 'until the deadline')
})
