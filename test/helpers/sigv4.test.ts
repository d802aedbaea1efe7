import { randomBytes } from 'node:crypto'
import t from 'tap'
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3'
import { getSignedUrl } from '@aws-sdk/s3-request-presigner'
import { Redis } from 'ioredis'
import { verifyPresignedUrl } from './sigv4.js'
import { startS3 } from '../helpers/s3.js'
import { startRedis } from '../helpers/redis.js'

const SECRET = 'verifier-test-secret/+='
const DISPOSITION = 'attachment; filename="a b;(c)\'.txt"; filename*=UTF-8\'\'%C3%A9t%C3%A9%20%F0%9F%98%80.txt'
const CONTENT_TYPE = 'text/plain; charset=utf-8'
// Exercises path encoding: spaces, non-ASCII, sub-delims that encodeURIComponent leaves bare, and a nested prefix.
const KEY = 'shares/été (1)!\'*~ x+y.txt'
const EXPIRES_IN = 300

const client = new S3Client({
  endpoint: 'http://127.0.0.1:9999',
  region: 'eu-west-3',
  forcePathStyle: true,
  credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: SECRET }
})
t.teardown(() => client.destroy())

async function presign (): Promise<string> {
  return getSignedUrl(client, new GetObjectCommand({
    Bucket: 'bucket',
    Key: KEY,
    ResponseContentDisposition: DISPOSITION,
    ResponseContentType: CONTENT_TYPE
  }), { expiresIn: EXPIRES_IN })
}

// Edits the raw query text: going through URLSearchParams would re-serialise every pair as form data and make
// the URL invalid for reasons unrelated to the edit under test.
function editQuery (url: string, edit: (pairs: string[]) => string[]): string {
  const q = url.indexOf('?')
  return url.slice(0, q + 1) + edit(url.slice(q + 1).split('&')).join('&')
}

function replaceParam (url: string, name: string, value: string): string {
  let found = false
  const out = editQuery(url, (pairs) => pairs.map((p) => {
    if (!p.startsWith(name + '=')) return p
    found = true
    return `${name}=${value}`
  }))
  if (!found) throw new Error(`no ${name} in ${url}`)
  return out
}

t.test('presigned URL from the real SDK verifies', async (t) => {
  const url = await presign()
  const check = verifyPresignedUrl(url, { secretAccessKey: SECRET })
  t.equal(check.valid, true, check.reason ?? 'verifies')
  t.equal(check.reason, undefined)
  t.equal(check.expiresIn, EXPIRES_IN)
  t.equal(check.accessKeyId, 'AKIDEXAMPLE')
  t.equal(check.region, 'eu-west-3')
  t.equal(check.params.get('response-content-disposition'), DISPOSITION)
  t.equal(check.params.get('response-content-type'), CONTENT_TYPE)
  t.ok(Math.abs(check.signedAt.getTime() - Date.now()) < 60_000, 'signedAt is parsed from X-Amz-Date')
  t.equal(check.signedAt.getUTCMilliseconds(), 0)
  t.match(new URL(url).pathname, /^\/bucket\/shares\//)

  t.equal(editQuery(url, (p) => p).length, url.length)
  t.equal(verifyPresignedUrl(editQuery(url, (p) => [...p].reverse()), { secretAccessKey: SECRET }).valid, true,
    'parameter order in the URL does not matter')
})

t.test('wrong secret is rejected', async (t) => {
  const check = verifyPresignedUrl(await presign(), { secretAccessKey: SECRET + 'x' })
  t.equal(check.valid, false)
  t.match(check.reason, /signature mismatch/)
  t.equal(check.expiresIn, EXPIRES_IN, 'metadata still reported on failure')
})

t.test('any change to the signed request is rejected', async (t) => {
  const url = await presign()
  const u = new URL(url)
  const tampered: Record<string, string> = {
    disposition: replaceParam(url, 'response-content-disposition',
      encodeURIComponent(DISPOSITION.replace('a b', 'a c'))),
    'content type': replaceParam(url, 'response-content-type', encodeURIComponent('text/html')),
    expires: replaceParam(url, 'X-Amz-Expires', String(EXPIRES_IN * 2)),
    date: replaceParam(url, 'X-Amz-Date', u.searchParams.get('X-Amz-Date')!.replace(/\d{2}Z$/, '59Z')),
    'key path': url.replace('/shares/', '/shares2/'),
    bucket: url.replace('/bucket/', '/other/'),
    host: url.replace('127.0.0.1:9999', '127.0.0.1:9998'),
    'added parameter': editQuery(url, (p) => [...p, 'versionId=abc']),
    'removed parameter': editQuery(url, (p) => p.filter((x) => !x.startsWith('response-content-type='))),
    'spaces re-encoded as +': editQuery(url, (p) => p.map((x) => x.replaceAll('%20', '+'))),
    'form re-serialisation': (() => { const v = new URL(url); v.searchParams.sort(); return v.toString() })()
  }
  for (const [what, bad] of Object.entries(tampered)) {
    t.not(bad, url, `${what}: URL actually changed`)
    const check = verifyPresignedUrl(bad, { secretAccessKey: SECRET })
    t.equal(check.valid, false, `${what}: rejected`)
    t.match(check.reason, /signature mismatch/, `${what}: rejected by the signature, not something incidental`)
  }
})

t.test('malformed URLs give specific reasons', async (t) => {
  const url = await presign()
  const cases: Array<[string, string, RegExp]> = [
    ['no signature', editQuery(url, (p) => p.filter((x) => !x.startsWith('X-Amz-Signature='))), /missing X-Amz-Signature/],
    ['algorithm', replaceParam(url, 'X-Amz-Algorithm', 'AWS4-HMAC-SHA1'), /X-Amz-Algorithm/],
    ['scope date', replaceParam(url, 'X-Amz-Credential', 'AKIDEXAMPLE%2F19990101%2Feu-west-3%2Fs3%2Faws4_request'), /does not match X-Amz-Date/],
    ['service', replaceParam(url, 'X-Amz-Credential',
      `AKIDEXAMPLE%2F${new URL(url).searchParams.get('X-Amz-Date')!.slice(0, 8)}%2Feu-west-3%2Fsqs%2Faws4_request`), /service/],
    ['signed headers', replaceParam(url, 'X-Amz-SignedHeaders', 'host%3Brange'), /only host/],
    ['bad date', replaceParam(url, 'X-Amz-Date', '20240231T000000Z'), /X-Amz-Date/],
    ['expiry too long', replaceParam(url, 'X-Amz-Expires', '604801'), /outside/],
    ['duplicate', editQuery(url, (p) => [...p, 'X-Amz-Expires=1']), /appears 2 times/],
    ['bad escape', editQuery(url, (p) => [...p, 'x=%E0%A4%A']), /percent-encoding/]
  ]
  for (const [what, bad, reason] of cases) {
    const check = verifyPresignedUrl(bad, { secretAccessKey: SECRET })
    t.equal(check.valid, false, what)
    t.match(check.reason, reason, what)
  }
})

t.test('expiry', async (t) => {
  const url = await presign()
  const { signedAt } = verifyPresignedUrl(url, { secretAccessKey: SECRET })
  const at = (ms: number): Date => new Date(signedAt.getTime() + ms)
  t.equal(verifyPresignedUrl(url, { secretAccessKey: SECRET, now: at(0) }).valid, true)
  t.equal(verifyPresignedUrl(url, { secretAccessKey: SECRET, now: at(EXPIRES_IN * 1000 - 1) }).valid, true)
  const expired = verifyPresignedUrl(url, { secretAccessKey: SECRET, now: at(EXPIRES_IN * 1000) })
  t.equal(expired.valid, false)
  t.match(expired.reason, /expired/)
  t.equal(verifyPresignedUrl(url, { secretAccessKey: SECRET, now: at(86_400_000) }).valid, false)
  const early = verifyPresignedUrl(url, { secretAccessKey: SECRET, now: at(-16 * 60 * 1000) })
  t.equal(early.valid, false)
  t.match(early.reason, /after now/)
})

t.test('expiresIn reflects the requested lifetime', async (t) => {
  for (const expiresIn of [1, 60, 3600, 604800]) {
    const url = await getSignedUrl(client, new GetObjectCommand({ Bucket: 'bucket', Key: 'k' }), { expiresIn })
    const check = verifyPresignedUrl(url, { secretAccessKey: SECRET })
    t.equal(check.valid, true, check.reason ?? 'verifies')
    t.equal(check.expiresIn, expiresIn)
  }
})

t.test('presigned GET against live s3rver downloads the exact bytes', async (t) => {
  const s3 = await startS3(t)
  const body = randomBytes(64 * 1024 + 7)
  await s3.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: KEY, Body: body }))

  t.same(await s3.listKeys(), [KEY])
  t.same(await s3.getObject(KEY), body)
  t.equal(await s3.getObject('missing'), null)

  const url = await getSignedUrl(s3.client, new GetObjectCommand({
    Bucket: s3.bucket,
    Key: KEY,
    ResponseContentDisposition: DISPOSITION,
    ResponseContentType: CONTENT_TYPE
  }), { expiresIn: 60 })
  t.ok(url.startsWith(s3.endpoint + '/'), url)

  const check = verifyPresignedUrl(url, { secretAccessKey: s3.secretAccessKey })
  t.equal(check.valid, true, check.reason ?? 'verifies')
  t.equal(check.region, s3.region)
  t.equal(verifyPresignedUrl(url, { secretAccessKey: 'nope' }).valid, false)

  const res = await fetch(url)
  t.equal(res.status, 200)
  t.equal(res.headers.get('content-disposition'), DISPOSITION)
  t.equal(res.headers.get('content-type'), CONTENT_TYPE)
  t.same(Buffer.from(await res.arrayBuffer()), body)
})

t.test('startRedis gives a working server', async (t) => {
  const { url, keyPrefix } = await startRedis(t)
  t.match(keyPrefix, /^lgtest:[0-9a-f]{8}:$/)
  const redis = new Redis(url, { keyPrefix, lazyConnect: true, maxRetriesPerRequest: 1 })
  await redis.connect()
  t.equal(await redis.ping(), 'PONG')
  await redis.quit()
})
