import t from 'tap'
import { accessDenial, isGuarded, type Access, type AccessDenial } from '../../src/domain/access.js'

const OWNER = 'alice'

t.test('public links: anyone, with or without a token', async (t) => {
  for (const sub of [null, OWNER, 'bob', '']) t.equal(accessDenial('public', OWNER, sub), null, JSON.stringify(sub))
})

t.test('authenticated links: any subject, but not an anonymous visitor', async (t) => {
  t.equal(accessDenial('authenticated', OWNER, null), 'unauthenticated')
  t.equal(accessDenial('authenticated', OWNER, OWNER), null)
  t.equal(accessDenial('authenticated', OWNER, 'bob'), null)
})

t.test('links for named subjects', async (t) => {
  const access: Access = { subjects: ['bob', 'carol'] }
  const cases: Array<[string | null, AccessDenial | null]> = [
    [null, 'unauthenticated'],
    [OWNER, null],
    ['bob', null],
    ['carol', null],
    ['mallory', 'forbidden'],
    ['Bob', 'forbidden'], // subjects are compared exactly
    ['bob ', 'forbidden'],
    ['bo', 'forbidden']
  ]
  for (const [sub, expected] of cases) t.equal(accessDenial(access, OWNER, sub), expected, JSON.stringify(sub))
})

t.test('an empty subject list still lets the owner in, and nobody else', async (t) => {
  const access: Access = { subjects: [] }
  t.equal(accessDenial(access, OWNER, OWNER), null)
  t.equal(accessDenial(access, OWNER, 'bob'), 'forbidden')
  t.equal(accessDenial(access, OWNER, null), 'unauthenticated')
})

t.test('the owner is not a wildcard for other visitors', async (t) => {
  t.equal(accessDenial({ subjects: [OWNER] }, OWNER, 'bob'), 'forbidden')
  t.equal(accessDenial({ subjects: ['bob'] }, 'bob', 'alice'), 'forbidden')
})

t.test('isGuarded: the cases spelled out', async (t) => {
  const link = (over: Partial<{ access: Access, passwordHash: string | null, maxDownloads: number | null }> = {}): { access: Access, passwordHash: string | null, maxDownloads: number | null } =>
    ({ access: 'public', passwordHash: null, maxDownloads: null, ...over })
  // A plain public link redirects straight away, for bots and browsers alike.
  t.equal(isGuarded(link(), false), false)
  t.equal(isGuarded(link(), true), false)
  // A limited public link: an API client redeems directly; a browser gets the page first.
  t.equal(isGuarded(link({ maxDownloads: 3 }), false), false)
  t.equal(isGuarded(link({ maxDownloads: 3 }), true), true)
  t.equal(isGuarded(link({ maxDownloads: 0 }), true), true, 'a limit of 0 is still a limit')
  // Access restrictions and passwords always need a decision.
  t.equal(isGuarded(link({ access: 'authenticated' }), false), true)
  t.equal(isGuarded(link({ access: 'authenticated' }), true), true)
  t.equal(isGuarded(link({ access: { subjects: [] } }), false), true)
  t.equal(isGuarded(link({ access: { subjects: ['bob'] } }), true), true)
  t.equal(isGuarded(link({ passwordHash: 'x' }), false), true)
  t.equal(isGuarded(link({ passwordHash: 'x', maxDownloads: 3 }), false), true, 'a password guards a limited link for an API client too')
  t.equal(isGuarded(link({ passwordHash: '' }), false), true, 'an empty hash is not "no password"')
})
