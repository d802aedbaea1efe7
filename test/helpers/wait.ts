// Bounded waits: for a promise, or for a state that announces itself with no event.
import { setTimeout as delay } from 'node:timers/promises'

/** What withTimeout() rejects with when the time is up. */
export class TimeoutError extends Error {}

/**
 * Settles like `work`, or rejects after `ms` with an error that names `what`; the timer
 * never outlives it.
 */
export async function withTimeout<T> (what: string, work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => { reject(new TimeoutError(`${what}: no answer within ${ms} ms`)) }, ms)
  })
  try {
    return await Promise.race([work, timeout])
  } finally {
    clearTimeout(timer)
  }
}

/**
 * Calls `probe` every `intervalMs` until `done` says yes or `timeoutMs` has passed, and
 * resolves with the last value either way: the caller asserts on it. Only for a state
 * with no event to await (a server that recovers, a cluster that agrees).
 */
export async function poll<T> (probe: () => Promise<T>, done: (value: T) => boolean, { timeoutMs, intervalMs }: { timeoutMs: number, intervalMs: number }): Promise<T> {
  const deadline = performance.now() + timeoutMs
  for (;;) {
    const value = await probe()
    if (done(value) || performance.now() > deadline) return value
    await delay(intervalMs)
  }
}
