// /v1/uploads (tus) against a real Redis and s3rver, with a real tus client (tus-js-client)
// over real sockets: uploads that resume after a cut connection, through another instance,
// ownership, termination, metadata, expiry.
import { createHash, randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { Upload, type HttpRequest, type HttpResponse, type UploadOptions } from 'tus-js-client'
import type { Config } from '../../src/config.js'
import { MiB, buildTestApp, type TestApp } from '../helpers/app.js'
import { freePort } from '../helpers/ports.js'
import { startRedis } from '../helpers/redis.js'
import { startS3 } from '../helpers/s3.js'
import { withTimeout } from '../helpers/wait.js'

const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex')

const redis = await startRedis(t)
const s3 = await startS3(t)

/** An app on a real port, whose PUBLIC_URL is where it listens (tus clients follow Location). */
async function listeningApp (t: Test, overrides: Partial<Config> = {}): Promise<TestApp & { base: string }> {
  const port = await freePort()
  const base = `http://127.0.0.1:${port}`
  const built = await buildTestApp(t, { redis, s3 }, { publicUrl: base, maxUploadBytes: 100 * MiB, ...overrides })
  await built.app.listen({ host: '127.0.0.1', port })
  return { ...built, base }
}

interface Outcome { url: string, response: HttpResponse }

/**
 * Runs a tus-js-client upload of `data` to settle: resolves with the upload URL and the last
 * response, rejects with the client's error. `onPatch` sees each PATCH request as it starts.
 */
async function tusUpload (data: Buffer, options: UploadOptions & { onPatch?: (req: HttpRequest) => void }): Promise<Outcome> {
  const { onPatch, ...rest } = options
  return await withTimeout('the tus upload', new Promise<Outcome>((resolve, reject) => {
    const upload: Upload = new Upload(data, {
      retryDelays: null,
      ...rest,
      onBeforeRequest: (req) => { if (req.getMethod() === 'PATCH') onPatch?.(req) },
      onSuccess: ({ lastResponse }) => { resolve({ url: upload.url ?? '', response: lastResponse }) },
      onError: reject
    })
    upload.start()
  }), 120_000)
}

async function auditEvents (config: Config): Promise<Array<{ event: string, fileId: string | null, sub: string | null, reason: string | null }>> {
  return (await readFile(config.auditLog ?? '', 'utf8')).trim().split('\n').filter((l) => l !== '').map((l) => JSON.parse(l))
}

t.test('a small upload: the file record, the object, the headers of the last response', async (t) => {
  const { app, auth, base, config } = await listeningApp(t)
  const data = randomBytes(MiB + 123)
  const { url, response } = await tusUpload(data, {
    endpoint: `${base}/v1/uploads`,
    headers: { authorization: auth('alice') },
    metadata: { filename: 'notes é.txt', filetype: 'text/plain; charset=utf-8', share: 'true', maxDownloads: '3' }
  })
  const fileId = response.getHeader('linkgate-file-id')
  t.match(url, new RegExp(`^${base}/v1/uploads/[0-9a-z]{26}$`))
  t.equal(url.split('/').pop(), fileId, 'the upload URL names the file id')
  t.match(response.getHeader('linkgate-link-url'), /^http:\/\/127\.0\.0\.1:\d+\/s\/[A-Za-z0-9_-]{22}$/)
  t.equal(response.getHeader('cache-control'), 'no-store')
  const file = (await app.inject({ url: `/v1/files/${fileId}`, headers: { authorization: auth('alice') } })).json()
  t.match(file, { id: fileId, filename: 'notes é.txt', contentType: 'text/plain; charset=utf-8', size: data.length, sha256: sha256(data) })
  t.ok((await s3.getObject(`files/${fileId}`))?.equals(data), 'the object holds the bytes')
  t.same((await s3.listKeys()).filter((k) => k.includes(fileId ?? '-')), [`files/${fileId}`], 'nothing but the object remains')
  t.same(await s3.listUploads(), [], 'no multipart upload in progress')
  await app.flushAudit()
  const events = (await auditEvents(config)).filter((e) => e.fileId === fileId).map((e) => e.event)
  t.same(events, ['upload.created', 'file.uploaded', 'link.created'])
})
