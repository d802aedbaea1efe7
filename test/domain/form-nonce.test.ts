import t from 'tap'
import { checkFormNonce, formNonce } from '../../src/domain/form-nonce.js'

const SECRET = Buffer.from('0123456789abcdef0123456789abcdef')
const OTHER_SECRET = Buffer.from('fedcba9876543210fedcba9876543210')
const LINK = 'lnk_abc123'
const NOW = 1_750_000_000_000
const MINUTE = 60 * 1000

t.test('the nonce is <expiry>.<base64url mac>, expiring in 15 minutes', async (t) => {
  const nonce = formNonce(SECRET, LINK, NOW)
  t.match(nonce, /^\d+\.[A-Za-z0-9_-]{43}$/)
  t.equal(nonce.split('.')[0], String(NOW + 15 * MINUTE))
  t.equal(formNonce(SECRET, LINK, NOW), nonce, 'deterministic for the same inputs')
  t.not(formNonce(SECRET, LINK, NOW + 1), nonce, 'differs with the time')
  t.not(formNonce(SECRET, 'lnk_other', NOW), nonce, 'differs with the link')
  t.not(formNonce(OTHER_SECRET, LINK, NOW), nonce, 'differs with the secret')
})

t.test('ok for the same link within 15 minutes', async (t) => {
  const nonce = formNonce(SECRET, LINK, NOW)
  for (const later of [0, 1, MINUTE, 14 * MINUTE, 15 * MINUTE - 1]) {
    t.equal(checkFormNonce(SECRET, LINK, nonce, NOW + later), 'ok', `after ${later} ms`)
  }
  t.equal(checkFormNonce(SECRET, LINK, nonce, NOW - MINUTE), 'ok', 'a clock a little behind is fine')
})

t.test('expired from 15 minutes on', async (t) => {
  const nonce = formNonce(SECRET, LINK, NOW)
  for (const later of [15 * MINUTE, 15 * MINUTE + 1, 16 * MINUTE, 24 * 60 * MINUTE]) {
    t.equal(checkFormNonce(SECRET, LINK, nonce, NOW + later), 'expired', `after ${later} ms`)
  }
})

t.test('invalid for anything the gateway did not issue for this link', async (t) => {
  const nonce = formNonce(SECRET, LINK, NOW)
  const [exp = '', sig = ''] = nonce.split('.')
  const flip = (s: string, i: number): string => s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1)
  const cases: Array<[string, string, Buffer, string]> = [
    ['another link id', 'lnk_abc124', SECRET, nonce],
    ['a prefix of the link id', 'lnk_abc12', SECRET, nonce],
    ['another secret', LINK, OTHER_SECRET, nonce],
    ['a later expiry', LINK, SECRET, `${Number(exp) + 60 * MINUTE}.${sig}`],
    ['an earlier expiry', LINK, SECRET, `${Number(exp) - 1}.${sig}`],
    ['an expiry with a leading zero', LINK, SECRET, `0${exp}.${sig}`],
    ['a first signature character changed', LINK, SECRET, `${exp}.${flip(sig, 0)}`],
    ['a last signature character changed', LINK, SECRET, `${exp}.${flip(sig, sig.length - 1)}`],
    ['a truncated signature', LINK, SECRET, `${exp}.${sig.slice(0, -1)}`],
    ['a lengthened signature', LINK, SECRET, `${exp}.${sig}A`],
    ['an empty signature', LINK, SECRET, `${exp}.`],
    ['only a signature', LINK, SECRET, `.${sig}`],
    ['the empty string', LINK, SECRET, ''],
    ['no dot', LINK, SECRET, `${exp}${sig}`],
    ['just the expiry', LINK, SECRET, exp],
    ['a dot', LINK, SECRET, '.'],
    ['a multi-byte signature of the right length', LINK, SECRET, `${exp}.${'é'.repeat(sig.length)}`]
  ]
  for (const [name, linkId, secret, value] of cases) {
    t.equal(checkFormNonce(secret, linkId, value, NOW), 'invalid', name)
  }
})

t.test('a forged nonce is invalid even when far from expiry or already expired', async (t) => {
  const forged = formNonce(OTHER_SECRET, LINK, NOW)
  t.equal(checkFormNonce(SECRET, LINK, forged, NOW), 'invalid')
  t.equal(checkFormNonce(SECRET, LINK, forged, NOW + 60 * MINUTE), 'invalid', 'invalid wins over expired')
})

t.test('without an explicit now, a fresh nonce is ok', async (t) => {
  t.equal(checkFormNonce(SECRET, LINK, formNonce(SECRET, LINK)), 'ok')
})
