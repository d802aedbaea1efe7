// What every helper needs from a tap test: a place to register its clean-up.

/**
 * A tap test, as far as the helpers are concerned. tap runs the functions registered
 * with `teardown()` once the test is over, the last registered first: a gateway started
 * after its Redis is stopped before that Redis.
 */
export interface Teardown {
  teardown: (fn: () => unknown) => void
}
