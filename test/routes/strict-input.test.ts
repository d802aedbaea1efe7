// Nothing the client did not mean is done silently (issue 14): an unknown property or query
// parameter is a 400 naming it, and a refused request creates nothing. Real Redis and s3rver.
import t from 'tap'
import { buildTestApp } from '../helpers/app.js'
import { startRedis } from '../helpers/redis.js'
import { startS3 } from '../helpers/s3.js'

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

t.test('link options without share=true are a 400, not silently dropped', async (t) => {
  for (const query of ['&ttl=60', '&maxDownloads=1', '&share=false&maxDownloads=3']) {
    const res = await upload('noshare', query)
    t.equal(res.statusCode, 400, query)
    t.match(res.json(), { code: 'LG_BAD_REQUEST', detail: /add share=true/ }, query)
  }
  t.same(await list('noshare', 'files'), [], 'nothing was uploaded')
})

t.test('a bad value is explained in words: the wrong field, its choices, no union noise', async (t) => {
  const file = (await upload('words')).json()
  const mint = async (body: string): Promise<string> =>
    (await app.inject({ method: 'POST', url: `/v1/files/${file.id}/links`, headers: { authorization: auth('words'), 'content-type': 'application/json' }, body })).json().detail
  t.equal(await mint('{"access":"private"}'), 'body/access must be one of "public", "authenticated", or an object')
  t.equal(await mint('{"disposition":"inlined"}'), 'body/disposition must be one of "attachment", "inline"')
  t.equal(await mint('{"ttl":"1h"}'), 'body/ttl must be integer')
  t.equal((await upload('words', '&share=yes')).json().detail, 'querystring/share must be true or false')
  const badId = await app.inject({ url: '/v1/files/not-an-id', headers: { authorization: auth('words') } })
  t.equal(badId.json().detail, 'params/id is not well-formed')
  t.same(await list('words', 'links'), [])
})

t.test('a body without its content type says which one to send', async (t) => {
  const file = (await upload('media')).json()
  const res = await app.inject({ method: 'POST', url: `/v1/files/${file.id}/links`, headers: { authorization: auth('media'), 'content-type': 'application/x-www-form-urlencoded' }, body: '{"ttl":60}' })
  t.equal(res.statusCode, 415)
  t.match(res.json(), { code: 'LG_UNSUPPORTED_MEDIA_TYPE', detail: /Content-Type: application\/json/ })
  const put = await app.inject({ method: 'PUT', url: '/v1/files?filename=x', headers: { authorization: auth('media') }, body: 'x' })
  t.match(put.json(), { status: 404, detail: /uploads are POST \(with curl -T, add -X POST\)/ })
})

t.test('a route that takes no body refuses one, rather than ignore what it would not do', async (t) => {
  const file = (await upload('nobody')).json()
  const link = (await app.inject({ method: 'POST', url: `/v1/files/${file.id}/links`, headers: { authorization: auth('nobody') }, body: {} })).json()
  const withBody = await app.inject({ method: 'DELETE', url: `/v1/links/${link.id}`, headers: { authorization: auth('nobody') }, body: { revokeAt: '2030-01-01' } })
  t.equal(withBody.statusCode, 400)
  t.match(withBody.json(), { code: 'LG_BAD_REQUEST', detail: 'DELETE /v1/links/:id takes no body' })
  t.equal((await app.inject({ url: `/v1/links/${link.id}`, headers: { authorization: auth('nobody') } })).json().status, 'active', 'the link was not revoked')
  t.equal((await app.inject({ method: 'DELETE', url: `/v1/links/${link.id}`, headers: { authorization: auth('nobody') } })).statusCode, 204, 'without one it is')
})
