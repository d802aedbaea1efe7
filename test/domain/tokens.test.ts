import { createHash } from 'node:crypto'
import t from 'tap'
import { TOKEN_PATTERN, hashToken, isWellFormedToken, newToken } from '../../src/domain/tokens.js'

const BASE64URL_22 = /^[A-Za-z0-9_-]{22}$/

t.test('newToken is 22 characters of unpadded base64url and well formed', async (t) => {
  for (let i = 0; i < 50; i++) {
    const token = newToken()
    t.equal(token.length, 22)
    t.match(token, BASE64URL_22)
    t.match(token, new RegExp(TOKEN_PATTERN))
    t.ok(isWellFormedToken(token))
    // 16 random bytes, round-tripping through base64url.
    t.equal(Buffer.from(token, 'base64url').length, 16)
    t.equal(Buffer.from(token, 'base64url').toString('base64url'), token)
  }
})

t.test('1000 tokens are distinct', async (t) => {
  const tokens = new Set(Array.from({ length: 1000 }, () => newToken()))
  t.equal(tokens.size, 1000)
})

t.test('TOKEN_PATTERN is anchored', async (t) => {
  t.ok(TOKEN_PATTERN.startsWith('^'))
  t.ok(TOKEN_PATTERN.endsWith('$'))
})

t.test('isWellFormedToken accepts the full base64url alphabet', async (t) => {
  t.ok(isWellFormedToken('ABCDEFGHIJKLMNOPQRSTUV'))
  t.ok(isWellFormedToken('abcdefghijklmnopqrstuv'))
  t.ok(isWellFormedToken('0123456789-_0123456789'))
})

t.test('isWellFormedToken rejects malformed values', async (t) => {
  const valid = 'abcdefghijklmnopqrstuv'
  t.ok(isWellFormedToken(valid))
  const bad: Array<[string, string]> = [
    ['empty', ''],
    ['21 chars', valid.slice(0, 21)],
    ['23 chars', valid + 'w'],
    ['plus', '+' + valid.slice(1)],
    ['slash', valid.slice(0, 21) + '/'],
    ['padding', valid.slice(0, 20) + '=='],
    ['equals', valid.slice(0, 21) + '='],
    ['space inside', valid.slice(0, 10) + ' ' + valid.slice(11)],
    ['leading space', ' ' + valid.slice(1)],
    ['trailing space', valid + ' '],
    ['trailing newline', valid + '\n'],
    ['non-ASCII letter', 'é' + valid.slice(1)],
    ['non-ASCII digit', '٣' + valid.slice(1)],
    ['dot', valid.slice(0, 21) + '.'],
    ['percent-encoded', '%41' + valid.slice(3)]
  ]
  for (const [label, value] of bad) t.notOk(isWellFormedToken(value), label)
})

t.test('hashToken is base64url SHA-256 of the token', async (t) => {
  const token = newToken()
  const expected = createHash('sha256').update(token).digest('base64url')
  t.equal(hashToken(token), expected)
  t.equal(hashToken(token), hashToken(token), 'deterministic')
  t.not(hashToken(token), token, 'not the token itself')
  t.match(hashToken(token), /^[A-Za-z0-9_-]{43}$/, '32 bytes, unpadded base64url')
  t.equal(Buffer.from(hashToken(token), 'base64url').length, 32)
  // A known vector, so a change of algorithm or encoding cannot hide behind node:crypto.
  t.equal(hashToken('abc'), 'ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0')
})

t.test('hashToken differs per token', async (t) => {
  const hashes = new Set<string>()
  for (let i = 0; i < 200; i++) hashes.add(hashToken(newToken()))
  t.equal(hashes.size, 200)
  t.not(hashToken('abcdefghijklmnopqrstuv'), hashToken('abcdefghijklmnopqrstuw'))
})
