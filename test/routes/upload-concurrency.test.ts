// UPLOAD_CONCURRENCY: a user's uploads in progress are bounded across instances. Paused
// uploads (a client that sends a little and then nothing) hold their slots; the next
// upload is refused with 429 before a byte of its body is read. Two gateways on one real
// Redis and s3rver, over real sockets.
import { once } from 'node:events'
import { request, type ClientRequest, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import type { AuditEvent } from '../../src/audit.js'
import { buildTestApp, type TestApp } from '../helpers/app.js'
import { startRedis } from '../helpers/redis.js'
import { startS3 } from '../helpers/s3.js'

const redis = await startRedis(t)
const s3 = await startS3(t)

interface Listening extends TestApp {
  port: number
  /** Resolves when this gateway next takes an upload slot. */
  acquired: () => Promise<void>
  /** Resolves when this gateway next gives one back. */
  released: () => Promise<void>
}

/** `call`, and a promise of its next completion. */
function watched<A extends unknown[], R> (call: (...args: A) => Promise<R>): { call: (...args: A) => Promise<R>, next: () => Promise<void> } {
  let waiting: Array<() => void> = []
  return {
    async call (...args) {
      const result = await call(...args)
      const resolve = waiting
      waiting = []
      for (const r of resolve) r()
      return result
    },
    next: async () => { await new Promise<void>((resolve) => waiting.push(resolve)) }
  }
}

async function gateway (keyPrefix: string): Promise<Listening> {
  const gw = await buildTestApp(t, { redis: { ...redis, keyPrefix }, s3 }, { limits: { redeemPerMinute: 1000, redeemMisses: 1000, uploadPerMinute: 1000, apiPerMinute: 1000, authFailures: 1000, uploadConcurrency: 4, passwordChecks: 2, failOpen: false } })
  // The real store's methods, watched: the test waits for the slot, not for a while.
  const { budgetStore } = gw.app
  const acquire = watched(budgetStore.acquireSlot.bind(budgetStore))
  const release = watched(budgetStore.releaseSlot.bind(budgetStore))
  budgetStore.acquireSlot = acquire.call
  budgetStore.releaseSlot = release.call
  await gw.app.listen({ host: '127.0.0.1', port: 0 })
  return { ...gw, port: (gw.app.server.address() as AddressInfo).port, acquired: acquire.next, released: release.next }
}

interface Upload { req: ClientRequest, response: Promise<IncomingMessage> }

/** Starts a chunked raw upload and sends its first bytes; the body stays open. */
async function startUpload (gw: Listening, sub: string): Promise<Upload> {
  const acquired = gw.acquired()
  const req = request({ host: '127.0.0.1', port: gw.port, method: 'POST', path: '/v1/files?filename=slow.bin', headers: { authorization: gw.auth(sub), 'content-type': 'application/octet-stream' } })
  // once() rejects on the request's 'error' (a reset after destroy()), so none goes unheard.
  const response = once(req, 'response').then(([res]) => res as IncomingMessage)
  response.catch(() => {})
  req.write(Buffer.alloc(1024, 1))
  await acquired
  return { req, response }
}

/**
 * Resolves once `gw` has audited `count` failed uploads: an upload whose client went away
 * is audited when the gateway notices, which may be after the test's last request, and a
 * line written once the app has closed would land in a data directory being removed.
 */
async function uploadsFailed (gw: Listening, count: number): Promise<void> {
  await new Promise<void>((resolve) => {
    let seen = 0
    const onEvent = (event: AuditEvent): void => {
      if (event.event !== 'file.upload_failed' || ++seen < count) return
      gw.app.auditEvents.off('event', onEvent)
      resolve()
    }
    gw.app.auditEvents.on('event', onEvent)
  })
}

async function body (res: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of res) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString()
}

t.test('paused uploads hold their slots across instances; the next is refused before its body is read', async (t) => {
  const prefix = `${redis.keyPrefix}shared:`
  const a = await gateway(prefix)
  const b = await gateway(prefix)
  const paused = [await startUpload(a, 'alice'), await startUpload(a, 'alice'), await startUpload(b, 'alice'), await startUpload(b, 'alice')]

  // The fifth sends its headers and nothing else: the answer must come without a body.
  const fifth = request({ host: '127.0.0.1', port: a.port, method: 'POST', path: '/v1/files?filename=fifth.bin', headers: { authorization: a.auth('alice'), 'content-type': 'application/octet-stream', 'content-length': '1000000' } })
  fifth.on('error', () => {})
  fifth.flushHeaders()
  const [refused] = await once(fifth, 'response') as [IncomingMessage]
  t.equal(refused.statusCode, 429)
  t.equal(refused.headers.connection, 'close', 'the unread body is not waited for')
  t.match(JSON.parse(await body(refused)), { code: 'LG_TOO_MANY_UPLOADS', detail: /At most 4 uploads at once/ })
  fifth.destroy()

  const other = await startUpload(b, 'bob')
  other.req.end()
  t.equal((await other.response).statusCode, 201, 'another user has slots of their own')

  // One finishes: its slot is free, on either instance.
  const first = paused[0] as Upload
  const freed = a.released()
  first.req.end(Buffer.alloc(10))
  t.equal((await first.response).statusCode, 201)
  await freed
  const next = await startUpload(b, 'alice')
  next.req.end()
  t.equal((await next.response).statusCode, 201, 'a finished upload gave its slot back')

  // A client that goes away mid-body gives its slot back too.
  const gone = paused[1] as Upload
  const givenBack = a.released()
  const goneAudited = uploadsFailed(a, 1)
  gone.req.destroy()
  await gone.response.catch(() => {})
  await givenBack
  await goneAudited
  const after = await startUpload(a, 'alice')
  after.req.end()
  t.equal((await after.response).statusCode, 201, 'an abandoned upload gave its slot back')
  const audited = uploadsFailed(b, 2)
  for (const upload of paused.slice(2)) upload.req.destroy()
  await audited
})
