// What Redis failing looks like to the rest of the gateway: connection trouble is the
// dependency being unavailable (a fast 503), anything else a bug. Apart from the store, so
// that the error handler (plugins/errors.ts) and the rate limiter's store can use it.
import { unavailable } from '../errors.js'

/** ioredis's ways of saying Redis cannot be reached now (as opposed to a reply error, a bug). */
export function isRedisUnavailable (err: unknown): boolean {
  if (!(err instanceof Error)) return false
  // Replies of a server that is failing over, loading, or a cluster missing a shard.
  if (err.name === 'ReplyError') return /^(CLUSTERDOWN|TRYAGAIN|LOADING|MASTERDOWN|READONLY) /.test(err.message)
  return err.name === 'MaxRetriesPerRequestError' || err.name === 'ClusterAllFailedError' ||
    /Stream isn't writeable|Connection is closed|Command timed out|Cluster isn't ready|None of startup nodes is available|Too many Cluster redirections|ECONNREFUSED|ETIMEDOUT|ECONNRESET|EHOSTUNREACH/.test(err.message)
}

/** Connection trouble becomes a 503; anything else (a reply error is a bug) stays as it is. */
export async function storeCall<T> (work: Promise<T>): Promise<T> {
  try {
    return await work
  } catch (err) {
    throw isRedisUnavailable(err) ? unavailable('link store', err) : err
  }
}
