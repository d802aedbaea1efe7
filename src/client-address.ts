// The client's address behind trusted proxies (TRUST_PROXY): proxy-addr's rule, the one
// Fastify's request.ip applies, but only ever an IP. proxy-addr returns whatever string the
// X-Forwarded-For entry holds, and that address goes into logs, audit events, link
// histories and rate-limit keys.
import proxyAddr from '@fastify/proxy-addr'
import type { IncomingMessage } from 'node:http'
import { isIP } from 'node:net'

/** Whether the address at `hop` (0: the socket's peer) is a proxy to look past. */
export type TrustRule = (address: string, hop: number) => boolean

/** TRUST_PROXY as a rule (Config['trustProxy']); null: trust no proxy. */
export function trustRule (setting: boolean | number | string[]): TrustRule | null {
  if (setting === false) return null
  if (setting === true) return () => true
  // A hop count trusts that many proxies in front, whatever their addresses.
  if (typeof setting === 'number') return (_address, hop) => hop < setting
  return proxyAddr.compile(setting)
}

/**
 * An address fit to stand for a client: an IPv4 or IPv6 address, without a zone id (which
 * node:net accepts at any length, and which means nothing beyond the proxy's own host).
 */
export function isClientIp (address: string | undefined): boolean {
  return address !== undefined && isIP(address) !== 0 && !address.includes('%')
}

/**
 * Drops the request's X-Forwarded-For when the address the rule would take from it is not
 * an IP: the client is then the socket's peer, as if no proxy had said anything.
 */
export function checkForwardedFor (request: IncomingMessage, trust: TrustRule): void {
  if (request.headers['x-forwarded-for'] === undefined) return
  if (!isClientIp(proxyAddr(request, trust))) delete request.headers['x-forwarded-for']
}
