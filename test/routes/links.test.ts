// /v1/files/:id/links and /v1/links against a real Redis and s3rver.
import t from 'tap'
import { buildTestApp } from '../helpers/app.js'
import { startRedis } from '../helpers/redis.js'
import { startS3 } from '../helpers/s3.js'

const redis = await startRedis(t)
const s3 = await startS3(t)
const { app, auth } = await buildTestApp(t, { redis, s3 }, { linkDefaultTtl: 3600, linkMaxTtl: 86_400 })

const upload = await app.inject({ method: 'POST', url: '/v1/files?filename=shared.txt', headers: { authorization: auth('owner'), 'content-type': 'text/plain' }, body: 'shared' })
const fileId: string = upload.json().id

async function mint (body?: object): Promise<{ statusCode: number, json: () => any }> {
  return await app.inject({ method: 'POST', url: `/v1/files/${fileId}/links`, headers: { authorization: auth('owner') }, ...(body === undefined ? {} : { body }) })
}

t.test('minting a link: 201 with the token, the URL, and the defaults', async (t) => {
  const before = Date.now()
  const res = await mint()
  t.equal(res.statusCode, 201)
  const link = res.json()
  t.match(link, { fileId, maxDownloads: null, downloads: 0, status: 'active', revokedAt: null })
  t.match(link.token, /^[A-Za-z0-9_-]{22}$/)
  t.equal(link.url, `http://gateway.test/s/${link.token}`)
  const ttl = Date.parse(link.expiresAt) - before
  t.ok(ttl >= 3600_000 - 1000 && ttl <= 3600_000 + 1000, 'LINK_DEFAULT_TTL applies')
  t.equal((await app.inject({ url: `/s/${link.token}` })).statusCode, 302)
})

t.test('ttl and maxDownloads are honoured and validated', async (t) => {
  const ok = await mint({ ttl: 60, maxDownloads: 2 })
  t.equal(ok.statusCode, 201)
  t.equal(ok.json().maxDownloads, 2)
  t.ok(Math.abs(Date.parse(ok.json().expiresAt) - Date.now() - 60_000) < 2000)
  const tooLong = await mint({ ttl: 86_401 })
  t.equal(tooLong.statusCode, 400)
  t.match(tooLong.json(), { code: 'LG_TTL_TOO_LONG', detail: /at most 86400 seconds/ })
  for (const body of [{ ttl: 0 }, { ttl: -5 }, { ttl: 'soon' }, { maxDownloads: 0 }, { maxDownloads: 1.5 }, { maxDownloads: 1e9 }]) {
    const res = await mint(body)
    t.equal(res.statusCode, 400, JSON.stringify(body))
    t.equal(res.json().status, 400)
  }
  const notJson = await app.inject({ method: 'POST', url: `/v1/files/${fileId}/links`, headers: { authorization: auth('owner'), 'content-type': 'application/json' }, body: '{"ttl":' })
  t.equal(notJson.statusCode, 400)
})

t.test('listing shows links without their tokens; reading and revoking one', async (t) => {
  const created = (await mint({ maxDownloads: 4 })).json()
  const list = await app.inject({ url: '/v1/links?limit=100', headers: { authorization: auth('owner') } })
  t.equal(list.statusCode, 200)
  t.notOk(list.body.includes(created.token), 'no token in the listing')
  t.notOk(list.body.includes('/s/'), 'no share URL in the listing')
  t.ok(list.json().items.some((l: { id: string }) => l.id === created.id))
  const one = await app.inject({ url: `/v1/links/${created.id}`, headers: { authorization: auth('owner') } })
  t.same(Object.keys(one.json()).sort(), ['access', 'createdAt', 'disposition', 'downloads', 'expiresAt', 'fileId', 'id', 'maxDownloads', 'passwordProtected', 'revokedAt', 'status'])
  t.equal((await app.inject({ url: `/v1/links/${created.id}`, headers: { authorization: auth('intruder') } })).statusCode, 404)
  t.equal((await app.inject({ method: 'DELETE', url: `/v1/links/${created.id}`, headers: { authorization: auth('intruder') } })).statusCode, 404)
  t.equal((await app.inject({ url: `/s/${created.token}` })).statusCode, 302, 'an intruder\'s revoke did nothing')
  t.equal((await app.inject({ method: 'DELETE', url: `/v1/links/${created.id}`, headers: { authorization: auth('owner') } })).statusCode, 204)
  t.equal((await app.inject({ url: `/s/${created.token}` })).statusCode, 404)
  t.match((await app.inject({ url: `/v1/links/${created.id}`, headers: { authorization: auth('owner') } })).json(), { status: 'revoked', downloads: 1 })
})
