// SIGTERM during an upload, on the real server process with Redis and S3: what was
// answered 201 stays; the upload still in flight after SHUTDOWN_GRACE is aborted and
// leaves nothing; the audit log is flushed; the process exits 0.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { Redis } from 'ioredis'
import t from 'tap'
import { TEST_JWT_SECRET, MiB } from './helpers/app.js'
import { startRedis } from './helpers/redis.js'
import { startS3 } from './helpers/s3.js'
import { SERVER_ENTRY, freePort } from './helpers/gateway.js'

t.test('SIGTERM during an upload', async (t) => {
  const redis = await startRedis(t)
  const s3 = await startS3(t)
  const dir = await mkdtemp(join(tmpdir(), 'linkgate-shutdown-'))
  t.teardown(async () => { await rm(dir, { recursive: true, force: true }) })
  const port = await freePort()
  const auditLog = join(dir, 'audit.log')
  const child = spawn(process.execPath, [SERVER_ENTRY], {
    env: {
      PATH: process.env.PATH ?? '',
      HOST: '127.0.0.1',
      PORT: String(port),
      LOG_LEVEL: 'info',
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: redis.keyPrefix,
      S3_BUCKET: s3.bucket,
      S3_ENDPOINT: s3.endpoint,
      S3_REGION: s3.region,
      S3_FORCE_PATH_STYLE: 'true',
      AWS_ACCESS_KEY_ID: s3.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
      JWT_SECRET: TEST_JWT_SECRET,
      AUDIT_LOG: auditLog,
      SHUTDOWN_GRACE: '1'
    },
    stdio: ['ignore', 'pipe', 'inherit']
  })
  const exited = once(child, 'exit')
  for await (const line of createInterface({ input: child.stdout })) if (line.includes('Server listening')) break
  child.stdout.resume()

  const { createSigner } = await import('fast-jwt')
  const authorization = `Bearer ${createSigner({ key: TEST_JWT_SECRET, expiresIn: 3_600_000 })({ sub: 'shutdown' })}`
  const base = `http://127.0.0.1:${port}`
  const done = await fetch(`${base}/v1/files?filename=done.txt`, { method: 'POST', headers: { authorization, 'content-type': 'text/plain' }, body: 'finished before the signal' })
  t.equal(done.status, 201)
  const kept = await done.json() as { id: string }

  // An upload that will not finish by itself: some bytes, then the client waits.
  const pending = request(`${base}/v1/files?filename=pending.bin`, { method: 'POST', headers: { authorization, 'content-type': 'application/octet-stream', expect: '100-continue' } })
  const answered = new Promise<number>((resolve) => {
    pending.on('response', (res) => { resolve(res.statusCode ?? 0); res.resume() })
    pending.on('error', () => { resolve(-1) })
  })
  await once(pending, 'continue')
  await new Promise<void>((resolve) => pending.write(Buffer.alloc(MiB), () => { resolve() }))

  child.kill('SIGTERM')
  t.equal(await answered, 503, 'the in-flight upload is aborted with a 503 after the grace period')
  const [code] = await exited
  t.equal(code, 0, 'exit 0')

  t.same(await s3.listKeys(), [`files/${kept.id}`], 'only the answered upload is in the bucket')
  const client = new Redis(redis.url, { keyPrefix: redis.keyPrefix })
  t.teardown(async () => { await client.quit() })
  t.same(await client.zrange('owner:shutdown:files', '-', '+', 'BYLEX'), [kept.id], 'only its record remains')
  t.equal((await client.hget(`file:{${kept.id}}`, 'filename')), 'done.txt')

  const events = (await readFile(auditLog, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { event: string, reason: string | null })
  t.match(events.map((e) => e.event), ['file.uploaded', 'file.upload_failed'], 'the audit log was flushed on exit')
  t.equal(events.at(-1)?.reason, 'LG_SHUTTING_DOWN')
})
