// CSRF protection for the download form without sessions or cookies: the page carries a
// nonce that is an HMAC of the link id and an expiry, so only a page the gateway served
// for that link, recently, can submit it.
import { createHmac } from 'node:crypto'
import { sameMac } from './secrets.js'

const LIFETIME_MS = 15 * 60 * 1000

function mac (secret: Buffer, linkId: string, exp: string): string {
  return createHmac('sha256', secret).update(`form\n${linkId}\n${exp}`).digest('base64url')
}

export function formNonce (secret: Buffer, linkId: string, now = Date.now()): string {
  const exp = String(now + LIFETIME_MS)
  return `${exp}.${mac(secret, linkId, exp)}`
}

export function checkFormNonce (secret: Buffer, linkId: string, nonce: string, now = Date.now()): 'ok' | 'invalid' | 'expired' {
  const parts = nonce.split('.')
  if (parts.length !== 2) return 'invalid'
  const [exp = '', sig = ''] = parts
  if (!sameMac(sig, mac(secret, linkId, exp))) return 'invalid'
  return Number(exp) > now ? 'ok' : 'expired'
}
