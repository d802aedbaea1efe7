// The gateway process killed (SIGKILL) in the middle of a resumable (tus) upload and started
// again: the client resumes where the store says, and the object is byte-exact. The upload's
// state is in Redis and the bucket, nothing in the process. Runs dist/src/server.js (npm run
// build first).
import { createHash, randomBytes } from 'node:crypto'
import t from 'tap'
import { MiB } from '../helpers/app.js'
import { bearer, s3Env, startGateway } from '../helpers/gateway.js'
import { freePort } from '../helpers/ports.js'
import { startRedis } from '../helpers/redis.js'
import { startS3 } from '../helpers/s3.js'
import { interruptAt, tusUpload, type TusFailure } from '../helpers/tus.js'

const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex')

t.test('killed mid-upload and restarted: the client resumes, byte-exact', async (t) => {
  const redis = await startRedis(t)
  const s3 = await startS3(t)
  // One address for both processes: the upload's URL (PUBLIC_URL) stays valid across the restart.
  const port = await freePort()
  const env = { REDIS_URL: redis.url, REDIS_KEY_PREFIX: redis.keyPrefix, ...s3Env(s3), PORT: String(port), PUBLIC_URL: `http://127.0.0.1:${port}` }
  const first = await startGateway(t, env)
  const data = randomBytes(64 * MiB)
  const authorization = bearer('restart')

  const kill = interruptAt(data.length / 4, () => { first.child.kill('SIGKILL') })
  const failed = await tusUpload(data, { endpoint: `${first.base}/v1/uploads`, headers: { authorization }, metadata: { filename: 'restart.bin' }, ...kill })
    .then(() => null, (err: TusFailure) => err)
  t.ok(kill.happened() && failed !== null, 'the upload failed with the process')
  t.equal((await first.exited).signal, 'SIGKILL')

  const second = await startGateway(t, env)
  t.equal(second.base, first.base)
  const { url, response } = await tusUpload(data, { uploadUrl: failed?.url ?? '', headers: { authorization } })
  const fileId = response.getHeader('linkgate-file-id') ?? ''
  t.equal(url.split('/').pop(), fileId)
  const object = await s3.getObject(`files/${fileId}`)
  t.equal(object === null ? null : sha256(object), sha256(data), 'the object is byte-exact')
  const file = await (await fetch(`${second.base}/v1/files/${fileId}`, { headers: { authorization } })).json() as { sha256: string, size: number }
  t.match(file, { sha256: sha256(data), size: data.length }, 'and so is its record')
  t.same((await s3.listKeys()).filter((k) => k.includes(fileId)), [`files/${fileId}`], 'nothing but the object remains')
  t.same(await s3.listUploads(), [])
})
