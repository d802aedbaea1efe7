// One autocannon run against one URL: requests/s and latency, with every answer that is
// not a 2xx or 3xx counted as a failure. autocannon never follows redirects, so a 302 is
// a complete request here.
import autocannon from 'autocannon'
import { withTimeout } from './infra.js'

export interface LoadResult {
  /** Completed requests per second over the whole run. */
  rps: number
  /** Milliseconds. */
  p50: number
  p99: number
  /** Answers that were 2xx or 3xx. */
  ok: number
  /** Connection errors, timeouts (possibly counted twice) and answers other than 2xx or 3xx. */
  bad: number
  statuses: string
}

/**
 * Every response time of a run, in milliseconds. autocannon's own histogram keeps whole
 * milliseconds, too coarse for answers that take a fraction of one; its `response` event
 * carries the exact time (process.hrtime).
 */
class Latencies {
  #values = new Float64Array(1 << 16)
  #count = 0
  static readonly MAX = 50_000_000

  add (ms: number): void {
    if (this.#count === this.#values.length) {
      if (this.#count >= Latencies.MAX) return
      const grown = new Float64Array(this.#values.length * 2)
      grown.set(this.#values)
      this.#values = grown
    }
    this.#values[this.#count++] = ms
  }

  /** Nearest-rank percentiles, `ps` in (0, 1]. */
  percentiles (ps: number[]): number[] {
    const sorted = this.#values.slice(0, this.#count).sort()
    return ps.map((p) => sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)] ?? Number.NaN)
  }
}

export async function load (url: string, connections: number, seconds: number): Promise<LoadResult> {
  const latencies = new Latencies()
  const run = new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon({ url, connections, duration: seconds, pipelining: 1, timeout: 10 }, (err: unknown, result) => {
      if (err !== null && err !== undefined) reject(err instanceof Error ? err : new Error(String(err)))
      else resolve(result)
    })
    instance.on('response', (_client, _status, _bytes, ms) => { latencies.add(ms) })
  })
  const result = await withTimeout(run, seconds * 1000 + 30_000, `autocannon ${url}`)
  const ok = result['2xx'] + result['3xx']
  const bad = result.errors + result.timeouts + result.mismatches + result['1xx'] + result['4xx'] + result['5xx']
  const statuses = Object.entries(result.statusCodeStats ?? {}).map(([code, stat]) => `${code}×${stat.count ?? 0}`).join(' ')
  const [p50 = Number.NaN, p99 = Number.NaN] = latencies.percentiles([0.5, 0.99])
  return { rps: result.requests.total / result.duration, p50, p99, ok, bad, statuses }
}
