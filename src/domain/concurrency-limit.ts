// A bound on work running at once in this process: at most `total`, and at most `perKey`
// for any one key. Full means "refuse now", not "wait": queued work would only pile up.

export class ConcurrencyLimit {
  #running = 0
  readonly #byKey = new Map<string, number>()

  constructor (readonly total: number, readonly perKey: number) {}

  /** A release function (idempotent), or null when either bound is reached. */
  tryAcquire (key: string): (() => void) | null {
    const mine = this.#byKey.get(key) ?? 0
    if (this.#running >= this.total || mine >= this.perKey) return null
    this.#running++
    this.#byKey.set(key, mine + 1)
    let released = false
    return () => {
      if (released) return
      released = true
      this.#running--
      const left = (this.#byKey.get(key) ?? 1) - 1
      if (left === 0) this.#byKey.delete(key)
      else this.#byKey.set(key, left)
    }
  }
}
