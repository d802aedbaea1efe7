// /v1/files (list, read, delete, owner URL) against a real Redis and s3rver.
import t from 'tap'
import { newId } from '../../src/domain/ids.js'
import { buildTestApp } from '../helpers/app.js'
import { startRedis } from '../helpers/redis.js'
import { startS3 } from '../helpers/s3.js'
import { verifyPresignedUrl } from '../helpers/sigv4.js'

const redis = await startRedis(t)
const s3 = await startS3(t)
const { app, auth } = await buildTestApp(t, { redis, s3 }, { signedUrlTtl: 90 })

async function upload (sub: string, name: string, query = ''): Promise<{ id: string, link?: { token: string } }> {
  const res = await app.inject({ method: 'POST', url: `/v1/files?filename=${name}&${query}`, headers: { authorization: auth(sub), 'content-type': 'text/plain' }, body: name })
  t.equal(res.statusCode, 201)
  return res.json()
}

t.test('listing pages through the caller\'s files, newest first', async (t) => {
  const ids = []
  for (let i = 0; i < 5; i++) ids.push((await upload('lister', `f${i}.txt`)).id)
  await upload('someone-else', 'x.txt')
  const first = await app.inject({ url: '/v1/files?limit=2', headers: { authorization: auth('lister') } })
  t.equal(first.statusCode, 200)
  t.same(first.json().items.map((f: { id: string }) => f.id), [ids[4], ids[3]])
  const seen = [...first.json().items]
  let next = first.json().next
  while (next !== null) {
    const page = await app.inject({ url: `/v1/files?limit=2&cursor=${next}`, headers: { authorization: auth('lister') } })
    seen.push(...page.json().items)
    next = page.json().next
  }
  t.same(seen.map((f) => f.id), [...ids].reverse())
  for (const bad of ['limit=0', 'limit=101', 'limit=x', 'cursor=nope']) {
    t.equal((await app.inject({ url: `/v1/files?${bad}`, headers: { authorization: auth('lister') } })).statusCode, 400, bad)
  }
  // Ajv coerces "1e400" to Infinity, which passes `maximum`: refused all the same.
  const infinite = await app.inject({ url: '/v1/files?limit=1e400', headers: { authorization: auth('lister') } })
  t.equal(infinite.statusCode, 400)
  t.match(infinite.json(), { code: 'LG_BAD_REQUEST', detail: 'querystring/limit must be a finite number' })
})

t.test('someone else\'s file is a 404, exactly like a missing one', async (t) => {
  const { id } = await upload('owner', 'private.txt')
  for (const [method, url] of [['GET', `/v1/files/${id}`], ['GET', `/v1/files/${id}/url`], ['DELETE', `/v1/files/${id}`], ['POST', `/v1/files/${id}/links`]] as const) {
    const theirs = await app.inject({ method, url, headers: { authorization: auth('intruder') } })
    const missing = await app.inject({ method, url: url.replace(id, newId()), headers: { authorization: auth('intruder') } })
    t.equal(theirs.statusCode, 404, `${method} ${url}`)
    t.same(theirs.json(), missing.json())
  }
  t.equal((await app.inject({ url: `/v1/files/${id}`, headers: { authorization: auth('owner') } })).statusCode, 200, 'still there')
  t.equal((await app.inject({ url: '/v1/files/not-an-id', headers: { authorization: auth('owner') } })).statusCode, 400)
})

t.test('the owner gets a fresh presigned URL', async (t) => {
  const { id } = await upload('owner', 'mine.txt')
  const res = await app.inject({ url: `/v1/files/${id}/url`, headers: { authorization: auth('owner') } })
  t.equal(res.statusCode, 200)
  t.equal(res.headers['cache-control'], 'no-store')
  const { url, expiresAt } = res.json()
  const check = verifyPresignedUrl(url, { secretAccessKey: s3.secretAccessKey })
  t.equal(check.valid, true, check.reason ?? 'signature verifies')
  t.equal(check.expiresIn, 90)
  t.ok(Math.abs(Date.parse(expiresAt) - (check.signedAt.getTime() + 90_000)) < 2000)
  t.equal(await (await fetch(url)).text(), 'mine.txt')
})

t.test('deleting a file removes the object, the record and every link', async (t) => {
  const file = await upload('owner', 'doomed.txt', 'share=true')
  const second = await app.inject({ method: 'POST', url: `/v1/files/${file.id}/links`, headers: { authorization: auth('owner') }, body: { maxDownloads: 3 } })
  t.equal(second.statusCode, 201)
  const res = await app.inject({ method: 'DELETE', url: `/v1/files/${file.id}`, headers: { authorization: auth('owner') } })
  t.equal(res.statusCode, 204)
  t.equal(await s3.getObject(`files/${file.id}`), null, 'object gone')
  t.equal((await app.inject({ url: `/v1/files/${file.id}`, headers: { authorization: auth('owner') } })).statusCode, 404, 'record gone')
  t.equal((await app.inject({ url: `/s/${file.link?.token ?? ''}` })).statusCode, 404, 'first link gone')
  t.equal((await app.inject({ url: `/s/${second.json().token}` })).statusCode, 404, 'second link gone')
  t.equal((await app.inject({ url: `/v1/links/${second.json().id}`, headers: { authorization: auth('owner') } })).statusCode, 404)
  t.equal((await app.inject({ method: 'DELETE', url: `/v1/files/${file.id}`, headers: { authorization: auth('owner') } })).statusCode, 404, 'second delete')
})

t.test('every /v1 route wants a bearer token', async (t) => {
  const id = newId()
  for (const [method, url] of [['GET', '/v1/files'], ['GET', `/v1/files/${id}`], ['DELETE', `/v1/files/${id}`], ['GET', `/v1/files/${id}/url`], ['POST', `/v1/files/${id}/links`], ['GET', '/v1/links'], ['GET', `/v1/links/${id}`], ['DELETE', `/v1/links/${id}`]] as const) {
    const res = await app.inject({ method, url })
    t.equal(res.statusCode, 401, `${method} ${url}`)
  }
})
