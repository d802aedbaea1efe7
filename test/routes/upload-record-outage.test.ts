// Redis dies while an upload streams: the object lands in S3, the record cannot be
// written, the client gets a 503. Nothing may be left for good: the object is queued for
// deletion in the store that is still up (an orphan marker in the bucket), and once Redis is
// back the sweeper removes the object, any record that landed after all, and the marker.
// A real redis-server killed mid-upload, s3rver, and the upload over a real socket.
import { once } from 'node:events'
import { request, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import type { AuditEvent } from '../../src/audit.js'
import { buildTestApp } from '../helpers/app.js'
import { restartableRedis } from '../helpers/redis.js'
import { startS3 } from '../helpers/s3.js'

t.test('the record cannot be written: 503, then the sweeper leaves nothing behind', async (t) => {
  const redis = await restartableRedis(t)
  const s3 = await startS3(t)
  const { app, auth } = await buildTestApp(t, { redis: { url: redis.url, keyPrefix: 'lg:', stop: redis.stop }, s3 })
  await app.listen({ host: '127.0.0.1', port: 0 })
  const { port } = app.server.address() as AddressInfo
  const failed = new Promise<AuditEvent>((resolve) => app.auditEvents.on('event', (e) => { if (e.event === 'file.upload_failed') resolve(e) }))
  // The handler has started (its upload slot is taken, in Redis) once acquireSlot returns.
  const acquire = app.budgetStore.acquireSlot.bind(app.linkStore)
  const started = new Promise<void>((resolve) => {
    app.budgetStore.acquireSlot = async (slot) => {
      const held = await acquire(slot)
      resolve()
      return held
    }
  })

  const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/v1/files?filename=last-chunk.bin', headers: { authorization: auth('alice'), 'content-type': 'application/octet-stream' } })
  const answered = once(req, 'response')
  req.write(Buffer.alloc(256 * 1024, 7))
  await started
  await redis.stop()
  req.end(Buffer.alloc(1024, 8))
  const [res] = await answered as [IncomingMessage]
  res.resume()
  t.equal(res.statusCode, 503, 'the client is told the upload failed')
  const { fileId } = await failed
  if (fileId === null) throw new Error('the failure names no file')

  const keys = await s3.listKeys()
  t.ok(keys.includes(`files/${fileId}`), 'the object landed before the record failed')
  t.ok(keys.includes(`orphans/${fileId}`), 'and is queued for deletion in the bucket')

  await redis.start()
  if (app.redis?.status !== 'ready') await once(app.redis as NonNullable<typeof app.redis>, 'ready')
  await app.sweeper.runOnce()
  t.same(await s3.listKeys(), [], 'object and marker are gone')
  t.equal(await app.linkStore.getFile(fileId), null, 'and there is no record')
})
