// The ObjectStore contract: the same suite against the local-directory adapter and S3 (s3rver).
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { HeadObjectCommand } from '@aws-sdk/client-s3'
import { buffer } from 'node:stream/consumers'
import t, { type Test } from 'tap'
import { contentDisposition } from '../../src/domain/content-disposition.js'
import { LocalObjectStore } from '../../src/stores/local-object-store.js'
import type { ObjectStore } from '../../src/stores/object-store.js'
import { S3ObjectStore } from '../../src/stores/s3-object-store.js'
import { startS3 } from '../helpers/s3.js'
import { verifyPresignedUrl } from '../helpers/sigv4.js'

const MiB = 1024 * 1024

interface Adapter {
  store: ObjectStore
  /** Follows a signed URL the way a client would and returns the body and headers. */
  download: (url: string) => Promise<{ body: Buffer, disposition: string | null, type: string | null }>
  /**
   * What the store serves for a signed URL whose response overrides it ignores (some
   * S3-compatible stores do); null when it serves nothing without them.
   */
  ownHeaders: (key: string, url: string) => Promise<{ type: string | null, disposition: string | null } | null>
  /** Whether ownHeaders finds headers (the object keeps metadata) or nothing is served. */
  keepsHeaders: boolean
}

/** A body of unknown length in uneven chunks, optionally failing after `failAfter` bytes. */
function source (data: Buffer, failAfter = Infinity): Readable {
  let offset = 0
  return new Readable({
    read () {
      if (offset >= failAfter) {
        this.destroy(new Error('client went away'))
        return
      }
      if (offset >= data.length) {
        this.push(null)
        return
      }
      const n = Math.min(64 * 1024 + (offset % 7919), data.length - offset)
      this.push(data.subarray(offset, offset + n))
      offset += n
    }
  })
}

function contract (t: Test, make: (t: Test) => Promise<Adapter>): void {
  t.test('a streamed body is stored byte for byte and served by its signed URL', async (t) => {
    const { store, download } = await make(t)
    const data = randomBytes(3 * MiB + 123)
    await store.put('files/abc', source(data), { contentType: 'application/pdf', filename: 'abc.pdf' })
    t.equal(await store.exists('files/abc'), true)
    const url = await store.signedUrl('files/abc', { filename: 'Résumé; "final" (2).pdf', contentType: 'application/pdf', disposition: 'attachment', expiresIn: 60 })
    const got = await download(url)
    t.ok(got.body.equals(data), 'same bytes')
    t.equal(got.type, 'application/pdf')
    t.equal(got.disposition, 'attachment; filename="R_sum_; _final_ (2).pdf"; filename*=UTF-8\'\'R%C3%A9sum%C3%A9%3B%20%22final%22%20%282%29.pdf')
  })

  t.test('without the overrides of its signed URL, an object is a download of its own type, or is not served', async (t) => {
    const { store, ownHeaders, keepsHeaders } = await make(t)
    const filename = 'Notes "draft" é.html'
    await store.put('files/page', source(Buffer.from('<script>document.title = "ran"</script>')), { contentType: 'unknown/unknown', filename })
    // A link asks for inline; a store that drops the overrides must not fall back to sniffing.
    const url = await store.signedUrl('files/page', { filename, contentType: 'unknown/unknown', disposition: 'inline', expiresIn: 60 })
    const own = await ownHeaders('files/page', url)
    t.equal(own !== null, keepsHeaders, keepsHeaders ? 'served with headers of its own' : 'not served at all')
    if (own !== null) t.same(own, { type: 'unknown/unknown', disposition: contentDisposition(filename, 'attachment') })
  })

  t.test('a body that fails leaves no object behind', async (t) => {
    const { store } = await make(t)
    // Past one 6 MiB part, so S3 has a multipart upload in flight when it fails.
    const data = randomBytes(12 * MiB)
    await t.rejects(store.put('files/broken', source(data, 10 * MiB), { contentType: 'application/octet-stream', filename: 'broken' }), { message: 'client went away' })
    t.equal(await store.exists('files/broken'), false)
  })

  t.test('an aborted write leaves no object behind', async (t) => {
    const { store } = await make(t)
    const cancel = new AbortController()
    const body = new Readable({ read () {} })
    const put = store.put('files/aborted', body, { contentType: 'text/plain', filename: 'aborted.txt', signal: cancel.signal })
    body.push(randomBytes(1024))
    cancel.abort(new Error('cancelled by test'))
    await t.rejects(put)
    t.equal(await store.exists('files/aborted'), false)
  })

  t.test('delete is idempotent', async (t) => {
    const { store } = await make(t)
    await store.put('files/gone', source(Buffer.from('x')), { contentType: 'text/plain', filename: 'gone.txt' })
    await store.delete('files/gone')
    t.equal(await store.exists('files/gone'), false)
    await store.delete('files/gone')
  })

  t.test('ping answers', async (t) => {
    const { store } = await make(t)
    await store.ping()
    t.pass()
  })

  t.test('list: the keys under a folder, in key order, at most limit, and none of a folder that is not there', async (t) => {
    const { store } = await make(t)
    const folder = `list${randomBytes(4).toString('hex')}`
    for (const name of ['b2', 'a1', 'c3']) await store.put(`${folder}/${name}`, source(Buffer.alloc(0)), { contentType: 'application/octet-stream', filename: name })
    await store.put(`${folder}x/z9`, source(Buffer.from('x')), { contentType: 'text/plain', filename: 'z9' })
    t.same(await store.list(`${folder}/`, 10), [`${folder}/a1`, `${folder}/b2`, `${folder}/c3`])
    t.same(await store.list(`${folder}/`, 2), [`${folder}/a1`, `${folder}/b2`])
    t.same(await store.list(`nothing${folder}/`, 10), [])
  })

  t.test('downloadOrigin is the origin of the signed URLs', async (t) => {
    const { store } = await make(t)
    const url = await store.signedUrl('files/abc', { filename: 'a.txt', contentType: 'text/plain', disposition: 'attachment', expiresIn: 60 })
    t.equal(await store.downloadOrigin(), new URL(url).origin)
  })
}

t.test('local', async (t) => {
  contract(t, async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'linkgate-objects-'))
    t.teardown(async () => { await rm(dir, { recursive: true, force: true }) })
    const store = new LocalObjectStore({ dir, secret: randomBytes(32), baseUrl: 'http://gateway.test' })
    return {
      store,
      async download (url) {
        const u = new URL(url)
        t.equal(u.origin + u.pathname.slice(0, 3), 'http://gateway.test/o/')
        const verdict = store.verify(u.pathname.slice(3), Object.fromEntries(u.searchParams))
        if (!verdict.ok) throw new Error(verdict.reason)
        const object = await store.open(verdict.key)
        if (object === null) throw new Error('missing')
        return { body: await buffer(object.stream()), disposition: verdict.contentDisposition, type: verdict.contentType }
      },
      // The gateway serves these bytes itself, and only with the type and disposition its URL signed.
      async ownHeaders (key, url) {
        const query = Object.fromEntries(new URL(url).searchParams)
        const verdict = store.verify(key, { ...query, ct: undefined, cd: undefined })
        return verdict.ok ? { type: verdict.contentType, disposition: verdict.contentDisposition } : null
      },
      keepsHeaders: false
    }
  })

  t.test('signed URLs: tampering and expiry are refused', async (t) => {
    const store = new LocalObjectStore({ dir: tmpdir(), secret: randomBytes(32), baseUrl: 'http://gateway.test' })
    const url = new URL(await store.signedUrl('files/abc', { filename: 'a.txt', contentType: 'text/plain', disposition: 'attachment', expiresIn: 60 }))
    const query = Object.fromEntries(url.searchParams)
    t.equal(store.verify('files/abc', query).ok, true)
    t.same(store.verify('files/abd', query), { ok: false, reason: 'bad_signature' })
    t.same(store.verify('files/abc', { ...query, ct: 'text/html' }), { ok: false, reason: 'bad_signature' })
    t.same(store.verify('files/abc', { ...query, exp: String(Number(query.exp) + 1) }), { ok: false, reason: 'bad_signature' })
    t.same(store.verify('files/abc', { ...query, sig: undefined }), { ok: false, reason: 'bad_signature' })
    t.same(store.verify('files/abc', query, Date.now() + 61_000), { ok: false, reason: 'expired' })
    t.same(store.verify('../etc/passwd', query), { ok: false, reason: 'bad_signature' })
  })
})

t.test('s3', async (t) => {
  const s3 = await startS3(t)
  contract(t, async () => ({
    store: new S3ObjectStore({ client: s3.client, bucket: s3.bucket, maxObjectBytes: 100 * MiB }),
    async download (url) {
      const check = verifyPresignedUrl(url, { secretAccessKey: s3.secretAccessKey })
      t.equal(check.valid, true, check.reason ?? 'signature verifies')
      t.equal(check.expiresIn, 60)
      const res = await fetch(url)
      t.equal(res.status, 200)
      return { body: Buffer.from(await res.arrayBuffer()), disposition: res.headers.get('content-disposition'), type: res.headers.get('content-type') }
    },
    async ownHeaders (key) {
      const head = await s3.client.send(new HeadObjectCommand({ Bucket: s3.bucket, Key: key }))
      return { type: head.ContentType ?? null, disposition: head.ContentDisposition ?? null }
    },
    keepsHeaders: true
  }))

  t.test('a multipart upload keeps its type and disposition too', async (t) => {
    const store = new S3ObjectStore({ client: s3.client, bucket: s3.bucket, maxObjectBytes: 100 * MiB })
    // Past one 6 MiB part: CreateMultipartUpload, not PutObject, carries the headers.
    await store.put('files/big', source(randomBytes(13 * MiB)), { contentType: 'application/octet-stream', filename: 'big.bin' })
    const head = await s3.client.send(new HeadObjectCommand({ Bucket: s3.bucket, Key: 'files/big' }))
    t.equal(head.ContentLength, 13 * MiB)
    t.equal(head.ContentType, 'application/octet-stream')
    t.equal(head.ContentDisposition, 'attachment; filename="big.bin"')
  })

  t.test('nothing is left in the bucket by the failure cases', async (t) => {
    const keys = await s3.listKeys()
    t.notOk(keys.includes('files/broken'))
    t.notOk(keys.includes('files/aborted'))
  })

  t.test('an unreachable store is a 503, not a hang', async (t) => {
    const { S3Client } = await import('@aws-sdk/client-s3')
    const client = new S3Client({ endpoint: 'http://127.0.0.1:1', region: 'us-east-1', forcePathStyle: true, maxAttempts: 1, credentials: { accessKeyId: 'x', secretAccessKey: 'y' } })
    t.teardown(() => { client.destroy() })
    const store = new S3ObjectStore({ client, bucket: 'nope', maxObjectBytes: MiB })
    await t.rejects(store.ping(), { statusCode: 503, code: 'LG_DEPENDENCY_UNAVAILABLE' })
    await t.rejects(store.put('files/x', source(Buffer.from('hello')), { contentType: 'text/plain', filename: 'x.txt' }), { statusCode: 503, code: 'LG_DEPENDENCY_UNAVAILABLE' })
  })
})
