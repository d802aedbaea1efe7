// A JWT must say when it ends (issue 14): no `exp` is refused, as is an `iat` in the future;
// exp, nbf and iat are judged with 30 s of clock tolerance. On the API and on a restricted
// link alike. Real Redis.
import { createHmac } from 'node:crypto'
import t from 'tap'
import { buildTestApp, TEST_JWT_SECRET } from '../helpers/app.js'
import { startRedis } from '../helpers/redis.js'

const redis = await startRedis(t)
const { app, auth } = await buildTestApp(t, { redis })

const upload = await app.inject({ method: 'POST', url: '/v1/files?filename=a.txt', headers: { authorization: auth('owner'), 'content-type': 'text/plain' }, body: 'restricted' })
const fileId: string = upload.json().id
const minted = await app.inject({ method: 'POST', url: `/v1/files/${fileId}/links`, headers: { authorization: auth('owner') }, body: { access: 'authenticated' } })
const restricted: string = minted.json().token

/** An HS256 JWT with exactly these claims (a signer library would add or refuse some). */
function sign (claims: object): string {
  const input = [{ alg: 'HS256', typ: 'JWT' }, claims].map((part) => Buffer.from(JSON.stringify(part)).toString('base64url')).join('.')
  return `${input}.${createHmac('sha256', TEST_JWT_SECRET).update(input).digest('base64url')}`
}
const now = (): number => Math.floor(Date.now() / 1000)

const cases: Array<[string, () => object, 'accepted' | 'refused']> = [
  ['a normal token (iat now, exp in an hour)', () => ({ iat: now(), exp: now() + 3600 }), 'accepted'],
  ['no iat, exp in an hour', () => ({ exp: now() + 3600 }), 'accepted'],
  ['no exp', () => ({ iat: now() }), 'refused'],
  ['no exp and no iat', () => ({}), 'refused'],
  ['exp that is not a number', () => ({ exp: String(now() + 3600) }), 'refused'],
  ['iat two minutes in the future', () => ({ iat: now() + 120, exp: now() + 3600 }), 'refused'],
  ['iat ten seconds in the future (within the tolerance)', () => ({ iat: now() + 10, exp: now() + 3600 }), 'accepted'],
  ['iat that is not a number', () => ({ iat: 'yesterday', exp: now() + 3600 }), 'refused'],
  ['expired two minutes ago', () => ({ iat: now() - 3600, exp: now() - 120 }), 'refused'],
  ['expired ten seconds ago (within the tolerance)', () => ({ iat: now() - 3600, exp: now() - 10 }), 'accepted'],
  ['nbf two minutes ahead', () => ({ nbf: now() + 120, exp: now() + 3600 }), 'refused'],
  ['nbf ten seconds ahead (within the tolerance)', () => ({ nbf: now() + 10, exp: now() + 3600 }), 'accepted']
]

for (const [what, claims, verdict] of cases) {
  t.test(`${what}: ${verdict}`, async (t) => {
    const authorization = `Bearer ${sign({ sub: 'visitor', ...claims() })}`
    const api = await app.inject({ url: '/v1/files', headers: { authorization } })
    const link = await app.inject({ url: `/s/${restricted}`, headers: { authorization } })
    if (verdict === 'accepted') {
      t.equal(api.statusCode, 200, 'the API accepts it')
      t.equal(link.statusCode, 302, 'the restricted link redeems')
    } else {
      t.equal(api.statusCode, 401, 'the API refuses it')
      t.match(api.json(), { code: 'LG_UNAUTHENTICATED' })
      t.equal(link.statusCode, 401, 'the restricted link refuses it')
      t.match(link.json(), { code: 'LG_UNAUTHENTICATED' })
    }
  })
}

t.test('a refusal says what is wrong, and only a 401 asks for a bearer token', async (t) => {
  const noExp = await app.inject({ url: '/v1/files', headers: { authorization: `Bearer ${sign({ sub: 'v' })}` } })
  t.match(noExp.json(), { detail: 'The token has no "exp" claim: tokens must expire' })
  t.equal(noExp.headers['www-authenticate'], 'Bearer')
  const future = await app.inject({ url: '/v1/files', headers: { authorization: `Bearer ${sign({ sub: 'v', iat: now() + 600, exp: now() + 3600 })}` } })
  t.match(future.json(), { detail: /issued in the future/ })
  const fine = await app.inject({ url: '/v1/files', headers: { authorization: auth('v') } })
  t.equal(fine.statusCode, 200)
  t.equal(fine.headers['www-authenticate'], undefined, 'a success does not challenge')
})
