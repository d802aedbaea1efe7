import t from 'tap'
import { accessDenial, isGuarded, type Access, type AccessDenial, type Visitor } from '../../src/domain/access.js'

const OWNER = 'alice'

const who = (sub: string, over: Partial<Visitor> = {}): Visitor => ({ sub, groups: [], email: null, ...over })

t.test('public links: anyone, signed in or not', async (t) => {
  for (const visitor of [null, who(OWNER), who('bob')]) t.equal(accessDenial('public', OWNER, visitor), null, JSON.stringify(visitor))
})

t.test('authenticated links: anyone signed in, but not an anonymous visitor', async (t) => {
  t.equal(accessDenial('authenticated', OWNER, null), 'unauthenticated')
  t.equal(accessDenial('authenticated', OWNER, who(OWNER)), null)
  t.equal(accessDenial('authenticated', OWNER, who('bob')), null)
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
  for (const [sub, expected] of cases) t.equal(accessDenial(access, OWNER, sub === null ? null : who(sub)), expected, JSON.stringify(sub))
})

t.test('links for groups: any one of the visitor\'s groups', async (t) => {
  const access: Access = { groups: ['finance', 'legal'] }
  t.equal(accessDenial(access, OWNER, who('bob', { groups: ['legal'] })), null)
  t.equal(accessDenial(access, OWNER, who('bob', { groups: ['staff', 'finance'] })), null)
  t.equal(accessDenial(access, OWNER, who('bob', { groups: ['staff'] })), 'forbidden')
  t.equal(accessDenial(access, OWNER, who('bob', { groups: ['Finance'] })), 'forbidden', 'compared exactly')
  t.equal(accessDenial(access, OWNER, who('bob')), 'forbidden', 'no groups')
  t.equal(accessDenial(access, OWNER, who(OWNER)), null, 'the owner, in no group')
  t.equal(accessDenial(access, OWNER, null), 'unauthenticated')
})

t.test('links for e-mail domains: the verified address\'s domain, exactly', async (t) => {
  const access: Access = { domains: ['example.com'] }
  t.equal(accessDenial(access, OWNER, who('bob', { email: 'bob@example.com' })), null)
  t.equal(accessDenial(access, OWNER, who('bob', { email: 'Bob@EXAMPLE.com' })), null, 'domains are case-insensitive')
  t.equal(accessDenial(access, OWNER, who('bob', { email: 'bob@sub.example.com' })), 'forbidden', 'a subdomain is another domain')
  t.equal(accessDenial(access, OWNER, who('bob', { email: 'bob@example.com.evil.net' })), 'forbidden')
  t.equal(accessDenial(access, OWNER, who('bob', { email: 'example.com@evil.net' })), 'forbidden', 'the domain is after the last @')
  t.equal(accessDenial(access, OWNER, who('bob')), 'forbidden', 'no verified address')
})

t.test('a rule grants on any of its parts', async (t) => {
  const access: Access = { subjects: ['carol'], groups: ['legal'], domains: ['example.com'] }
  t.equal(accessDenial(access, OWNER, who('carol')), null)
  t.equal(accessDenial(access, OWNER, who('dan', { groups: ['legal'] })), null)
  t.equal(accessDenial(access, OWNER, who('erin', { email: 'erin@example.com' })), null)
  t.equal(accessDenial(access, OWNER, who('mallory', { groups: ['sales'], email: 'm@evil.net' })), 'forbidden')
})

t.test('an empty rule still lets the owner in, and nobody else', async (t) => {
  const access: Access = { subjects: [] }
  t.equal(accessDenial(access, OWNER, who(OWNER)), null)
  t.equal(accessDenial(access, OWNER, who('bob')), 'forbidden')
  t.equal(accessDenial(access, OWNER, null), 'unauthenticated')
})

t.test('the owner is not a wildcard for other visitors', async (t) => {
  t.equal(accessDenial({ subjects: [OWNER] }, OWNER, who('bob')), 'forbidden')
  t.equal(accessDenial({ subjects: ['bob'] }, 'bob', who('alice')), 'forbidden')
})

t.test('isGuarded truth table', async (t) => {
  const accesses: Array<[string, Access]> = [
    ['public', 'public'],
    ['authenticated', 'authenticated'],
    ['subjects', { subjects: ['bob'] }]
  ]
  const passwords: Array<string | null> = [null, 'scrypt$32768$8$1$c2FsdA$aGFzaA']
  const limits: Array<number | null> = [null, 0, 1, 5]
  let count = 0
  for (const [label, access] of accesses) {
    for (const passwordHash of passwords) {
      for (const maxDownloads of limits) {
        for (const interactive of [false, true]) {
          const expected = label !== 'public' || passwordHash !== null || (interactive && maxDownloads !== null)
          const name = `${label} password=${passwordHash !== null} max=${maxDownloads} interactive=${interactive}`
          t.equal(isGuarded({ access, passwordHash, maxDownloads }, interactive), expected, name)
          count++
        }
      }
    }
  }
  t.equal(count, 3 * 2 * 4 * 2)
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
  t.equal(isGuarded(link({ access: { groups: ['x'] } }), false), true)
  t.equal(isGuarded(link({ passwordHash: 'x' }), false), true)
  t.equal(isGuarded(link({ passwordHash: '' }), false), true, 'an empty hash is not "no password"')
})
