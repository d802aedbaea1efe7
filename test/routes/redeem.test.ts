// GET /s/:token against a real Redis and s3rver: the redirect, its signature, the race.
import t from 'tap'
import { contentDisposition } from '../../src/domain/content-disposition.js'
import { newToken } from '../../src/domain/tokens.js'
import { buildTestApp } from '../helpers/app.js'
import { link } from '../helpers/records.js'
import { startRedis } from '../helpers/redis.js'
import { startS3 } from '../helpers/s3.js'
import { verifyPresignedUrl } from '../helpers/sigv4.js'

const redis = await startRedis(t)
const s3 = await startS3(t)
const { app, auth } = await buildTestApp(t, { redis, s3 })

async function upload (filename: string, body: string | Buffer, query = 'share=true'): Promise<{ id: string, link: { id: string, token: string, url: string } }> {
  const res = await app.inject({
    method: 'POST',
    url: `/v1/files?filename=${encodeURIComponent(filename)}&${query}`,
    headers: { authorization: auth('owner'), 'content-type': 'text/plain; charset=utf-8' },
    body
  })
  t.equal(res.statusCode, 201, res.body)
  return res.json()
}

t.test('a share link redirects to a valid 60-second presigned URL that serves the file', async (t) => {
  const file = await upload('notes.txt', 'hello from linkgate')
  const res = await app.inject({ url: `/s/${file.link.token}` })
  t.equal(res.statusCode, 302)
  t.equal(res.headers['cache-control'], 'no-store')
  t.equal(res.headers['referrer-policy'], 'no-referrer')
  t.equal(res.headers['x-robots-tag'], 'noindex')
  const location = String(res.headers.location)
  t.ok(location.startsWith(`${s3.endpoint}/${s3.bucket}/files/${file.id}?`), location.split('?')[0] ?? location)
  const check = verifyPresignedUrl(location, { secretAccessKey: s3.secretAccessKey })
  t.equal(check.valid, true, check.reason ?? 'signature verifies')
  t.equal(check.expiresIn, 60)
  t.equal(check.params.get('response-content-type'), 'text/plain; charset=utf-8')
  const download = await fetch(location)
  t.equal(download.status, 200)
  t.equal(await download.text(), 'hello from linkgate')
  t.equal(download.headers.get('content-disposition'), 'attachment; filename="notes.txt"')
})

t.test('file names with accents, quotes, semicolons, parentheses and emoji keep a valid signature', async (t) => {
  const names = ['Café crème.pdf', 'say "hi".txt', 'a;b=c.txt', 'report (final) [2].docx', '📦 package 🚀.zip', "it's 100% done.txt", 'ünïcödé; "mixed" (😀).txt']
  for (const name of names) {
    const file = await upload(name, `bytes of ${name}`)
    const res = await app.inject({ url: `/s/${file.link.token}` })
    t.equal(res.statusCode, 302, name)
    const location = String(res.headers.location)
    const check = verifyPresignedUrl(location, { secretAccessKey: s3.secretAccessKey })
    t.equal(check.valid, true, `${name}: ${check.reason ?? 'signature verifies'}`)
    t.equal(check.params.get('response-content-disposition'), contentDisposition(name), name)
    const download = await fetch(location)
    t.equal(download.headers.get('content-disposition'), contentDisposition(name), name)
    t.equal(await download.text(), `bytes of ${name}`)
  }
})

t.test('malformed tokens are refused before any I/O, never with a 5xx', async (t) => {
  const bad = ['short', 'a'.repeat(21), 'a'.repeat(23), 'a'.repeat(300), '%00%00%00%00%00%00%00%00%00%00%00', '..%2F..%2Fetc%2Fpasswd', 'abc$def!ghi*jkl(mno)pq', '%F0%9F%98%80'.repeat(6)]
  for (const token of bad) {
    const res = await app.inject({ url: `/s/${token}` })
    t.ok([400, 404, 414].includes(res.statusCode), `${token}: ${res.statusCode}`)
    t.match(res.headers['content-type'], /^application\/problem\+json/)
    t.equal(res.headers['cache-control'], 'no-store')
  }
})

t.test('unknown, revoked, deleted and expired links are all a plain 404', async (t) => {
  const unknown = await app.inject({ url: `/s/${newToken()}` })
  t.equal(unknown.statusCode, 404)
  t.match(unknown.json(), { status: 404, code: 'LG_NOT_FOUND' })

  const revoked = await upload('r.txt', 'r')
  t.equal((await app.inject({ method: 'DELETE', url: `/v1/links/${revoked.link.id}`, headers: { authorization: auth('owner') } })).statusCode, 204)
  t.equal((await app.inject({ url: `/s/${revoked.link.token}` })).statusCode, 404)

  const deleted = await upload('d.txt', 'd')
  t.equal((await app.inject({ method: 'DELETE', url: `/v1/files/${deleted.id}`, headers: { authorization: auth('owner') } })).statusCode, 204)
  t.equal((await app.inject({ url: `/s/${deleted.link.token}` })).statusCode, 404)

  const live = await upload('e.txt', 'e', 'share=false')
  const file = await app.linkStore.getFile(live.id)
  if (file === null) throw new Error('uploaded file has no record')
  const { record, token } = link(file, { createdAt: Date.now() - 10_000, expiresAt: Date.now() - 1 })
  await app.linkStore.createLink(record)
  t.equal((await app.inject({ url: `/s/${token}` })).statusCode, 404)
})

t.test('100 requests racing for a maxDownloads: 5 link get exactly 5 redirects', async (t) => {
  const file = await upload('race.bin', 'race', 'share=true&maxDownloads=5')
  const results = await Promise.all(Array.from({ length: 100 }, async () => await app.inject({ url: `/s/${file.link.token}` })))
  const codes = results.map((r) => r.statusCode)
  t.equal(codes.filter((c) => c === 302).length, 5)
  t.equal(codes.filter((c) => c === 404).length, 95)
  const link = await app.inject({ url: `/v1/links/${file.link.id}`, headers: { authorization: auth('owner') } })
  t.match(link.json(), { downloads: 5, maxDownloads: 5, status: 'exhausted' })
})

t.test('a link stored inline under an older rule is served as an attachment when its type is not inline-safe', async (t) => {
  const file = await upload('page.html', '<script>alert(1)</script>', 'share=false')
  const stored = await app.linkStore.getFile(file.id)
  if (stored === null) throw new Error('no file record')
  const legacy = link({ ...stored, contentType: 'unknown/unknown' }, { disposition: 'inline' })
  await app.linkStore.createLink(legacy.record)
  const res = await app.inject({ url: `/s/${legacy.token}`, headers: { 'user-agent': 'curl/8.5.0' } })
  t.equal(res.statusCode, 302)
  const params = new URL(String(res.headers.location)).searchParams
  t.match(params.get('response-content-disposition'), /^attachment;/, 'decided at redemption, not only at creation')
})
