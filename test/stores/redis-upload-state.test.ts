// A resumable upload's state in Redis: the info @tus/s3-store reads (with its expiry), and the
// lock that keeps one request at a time on an upload across instances, against a real Redis.
import { ERRORS, Upload } from '@tus/utils'
import { Redis } from 'ioredis'
import t from 'tap'
import { RedisUploadInfo, RedisUploadLocker } from '../../src/stores/redis-upload-state.js'
import { startRedis } from '../helpers/redis.js'
import { withTimeout } from '../helpers/wait.js'

const redis = await startRedis(t)
const client = new Redis(redis.url, { keyPrefix: redis.keyPrefix })
t.teardown(async () => { await client.quit() })
const never = new AbortController().signal

t.test('the info: written with an expiry, read back, deleted', async (t) => {
  const info = new RedisUploadInfo(client, 60_000)
  const value = { file: new Upload({ id: 'files/a', size: 10, offset: 0, metadata: { owner: 'alice' } }), 'upload-id': 'u1', 'tus-version': '1.0.0' }
  await info.set('files/a', value)
  t.match(await info.get('files/a'), { file: { id: 'files/a', size: 10, metadata: { owner: 'alice' } }, 'upload-id': 'u1' })
  const ttl = await client.pttl('upload:{files/a}')
  t.ok(ttl > 0 && ttl <= 60_000, `it expires (${ttl} ms)`)
  await info.delete('files/a')
  t.equal(await info.get('files/a'), undefined)
})

t.test('a second request waits for the lock, and asks its holder to let go', async (t) => {
  const locker = new RedisUploadLocker(client, { leaseMs: 300, retryMs: 20 })
  const first = locker.newLock('files/b')
  let asked!: () => void
  const askedToLetGo = new Promise<void>((resolve) => { asked = resolve })
  await first.lock(never, () => { asked() })
  let secondHolds = false
  const second = locker.newLock('files/b')
  const waiting = second.lock(never, () => {}).then(() => { secondHolds = true })
  await withTimeout('the holder to be asked', askedToLetGo, 5000)
  t.notOk(secondHolds, 'not before the holder lets go')
  await first.unlock()
  await withTimeout('the second to get the lock', waiting, 5000)
  t.ok(secondHolds)
  await second.unlock()
  t.equal(await client.exists('upload:{files/b}:lock', 'upload:{files/b}:release'), 0, 'nothing left')
})

t.test("a crashed holder's lock lapses with its lease; a request gives up after its timeout", async (t) => {
  // A holder that stopped renewing: its token, and a lease that runs out.
  await client.set('upload:{files/c}:lock', 'crashed', 'PX', 200)
  const locker = new RedisUploadLocker(client, { leaseMs: 300, retryMs: 20 })
  const lock = locker.newLock('files/c')
  await withTimeout('the lapsed lock', lock.lock(never, () => {}), 5000)
  t.not(await client.get('upload:{files/c}:lock'), 'crashed', 'taken over')
  const impatient = new RedisUploadLocker(client, { acquireTimeoutMs: 100, retryMs: 20 }).newLock('files/c')
  t.equal(await impatient.lock(never, () => {}).then(() => null, (err: unknown) => err), ERRORS.ERR_LOCK_TIMEOUT, "tus's 500")
  await lock.unlock()
})

t.test('unlocking a lock that lapsed and was taken by another leaves the other\'s alone', async (t) => {
  const locker = new RedisUploadLocker(client, { leaseMs: 300 })
  const lock = locker.newLock('files/d')
  await lock.lock(never, () => {})
  await client.set('upload:{files/d}:lock', 'someone else')
  await lock.unlock()
  t.equal(await client.get('upload:{files/d}:lock'), 'someone else')
})
