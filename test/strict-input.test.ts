// Nothing the client did not mean is done silently (issue 14): an unknown property or query
// parameter is a 400 naming it, and a refused request creates nothing. Real Redis and s3rver.
import t from 'tap'
import { buildTestApp } from './helpers/app.js'
import { startRedis } from './helpers/redis.js'
import { startS3 } from './helpers/s3.js'

const redis = await startRedis(t)
const s3 = await startS3(t)
const { app, auth } = await buildTestApp(t, { redis, s3 })

async function upload (sub: string, query = ''): Promise<{ statusCode: number, json: () => any }> {
  return await app.inject({ method: 'POST', url: `/v1/files?filename=a.txt${query}`, headers: { authorization: auth(sub), 'content-type': 'text/plain' }, body: 'strict' })
}
async function list (sub: string, what: 'files' | 'links'): Promise<unknown[]> {
  const res = await app.inject({ url: `/v1/${what}?limit=100`, headers: { authorization: auth(sub) } })
  if (res.statusCode !== 200) throw new Error(`listing ${what} answered ${res.statusCode}`)
  return res.json().items
}

t.test('regression (issue 14): a typo in a link option is a 400, not an unlimited public link', async (t) => {
  const file = (await upload('typo')).json()
  const res = await app.inject({ method: 'POST', url: `/v1/files/${file.id}/links`, headers: { authorization: auth('typo'), 'content-type': 'application/json' }, body: '{"maxDownload": 1}' })
  t.equal(res.statusCode, 400)
  t.match(res.headers['content-type'], /^application\/problem\+json/)
  t.match(res.json(), { status: 400, code: 'LG_BAD_REQUEST', detail: 'body has an unknown property "maxDownload"' })
  t.same(await list('typo', 'links'), [], 'no link was created')

  const nested = await app.inject({ method: 'POST', url: `/v1/files/${file.id}/links`, headers: { authorization: auth('typo') }, body: { access: { subjects: ['bob'], subject: 'mallory' } } })
  t.match(nested.json(), { status: 400, code: 'LG_BAD_REQUEST', detail: 'body/access has an unknown property "subject"' })
  t.same(await list('typo', 'links'), [], 'still no link')
})

t.test('regression (issue 14): ?password= on an upload is a 400, not an unprotected link', async (t) => {
  const keysBefore = await s3.listKeys()
  const res = await upload('pw', '&share=true&password=correct-horse-battery')
  t.equal(res.statusCode, 400)
  t.match(res.json(), { status: 400, code: 'LG_BAD_REQUEST', detail: 'querystring has an unknown property "password"' })
  t.same(await list('pw', 'files'), [], 'no file record')
  t.same(await list('pw', 'links'), [], 'no link')
  t.same(await s3.listKeys(), keysBefore, 'no object')
})

t.test('every other route refuses an unknown query parameter; known ones are still coerced', async (t) => {
  const file = (await upload('query', '&share=true')).json()
  const linkId: string = file.link.id
  const headers = { authorization: auth('query') }
  const refused: Array<[string, string]> = [
    ['GET', '/v1/files?limit=1&sort=asc'],
    ['GET', `/v1/files/${file.id}?fields=all`],
    ['GET', `/v1/files/${file.id}/url?expiresIn=86400`],
    ['POST', `/v1/files/${file.id}/links?maxDownloads=1`],
    ['GET', '/v1/links?status=active'],
    ['GET', `/v1/links/${linkId}?verbose=1`],
    ['GET', `/v1/links/${linkId}/events?limit=1&since=0`],
    ['DELETE', `/v1/links/${linkId}?soft=true`],
    ['DELETE', `/v1/files/${file.id}?keepLinks=true`],
    ['GET', '/healthz?probe=1']
  ]
  for (const [method, url] of refused) {
    const res = await app.inject({ method: method as 'GET', url, headers })
    t.equal(res.statusCode, 400, `${method} ${url}`)
    t.match(res.json(), { code: 'LG_BAD_REQUEST', detail: /^querystring has an unknown property "\w+"$/ })
  }
  const page = await app.inject({ url: '/v1/files?limit=1', headers })
  t.equal(page.statusCode, 200, 'a known parameter still passes, coerced to its type')
  t.equal(page.json().items.length, 1)
  t.equal((await app.inject({ url: `/s/${file.link.token as string}` })).statusCode, 302, 'the refused DELETEs revoked nothing')
  t.equal((await app.inject({ url: `/v1/files/${file.id}`, headers })).statusCode, 200, 'and deleted nothing')
})

t.test('share links ignore their query string: chat apps append tracking parameters', async (t) => {
  const file = (await upload('tracked', '&share=true')).json()
  const token: string = file.link.token
  const tracked = `/s/${token}?fbclid=IwAR0abc&utm_source=chat&utm_medium=social`
  t.equal((await app.inject({ method: 'HEAD', url: tracked })).statusCode, 200)
  t.equal((await app.inject({ url: tracked })).statusCode, 302)
})
