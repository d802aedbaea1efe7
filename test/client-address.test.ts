// The client address behind trusted proxies: only an IP from the trusted hop, otherwise
// the socket's peer. (The wiring, on a real server process: e2e/trust-proxy.test.ts.)
import proxyAddr from '@fastify/proxy-addr'
import type { IncomingMessage } from 'node:http'
import t from 'tap'
import { checkForwardedFor, isClientIp, trustRule, type TrustRule } from '../src/client-address.js'

/** A request as the rule sees it: a peer and maybe an X-Forwarded-For. */
function incoming (forwardedFor: string | undefined, peer = '127.0.0.1'): IncomingMessage {
  const headers = forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor }
  return { headers, socket: { remoteAddress: peer } } as unknown as IncomingMessage
}

/** The client address Fastify's request.ip gives once the header was checked. */
function client (forwardedFor: string | undefined, trust: TrustRule, peer?: string): string {
  const request = incoming(forwardedFor, peer)
  checkForwardedFor(request, trust)
  return proxyAddr(request, trust)
}

const LONG = 'a'.repeat(8000)

t.test('isClientIp: IPv4 and IPv6 addresses, nothing else', async (t) => {
  for (const address of ['203.0.113.7', '::1', '2001:db8::1', '::ffff:192.0.2.1']) t.ok(isClientIp(address), address)
  for (const address of [undefined, '', '<script>', LONG, '203.0.113.7 ', '203.0.113.7:80', '[::1]', '01.2.3.4', 'fe80::1%eth0', `fe80::1%${LONG}`]) {
    t.notOk(isClientIp(address), String(address).slice(0, 40))
  }
})

t.test('trustRule: TRUST_PROXY as proxy-addr reads it', async (t) => {
  t.equal(trustRule(false), null)
  const all = trustRule(true) as TrustRule
  t.ok(all('198.51.100.1', 5))
  const one = trustRule(1) as TrustRule
  t.ok(one('198.51.100.1', 0), 'a hop count trusts the peer, whatever its address')
  t.notOk(one('127.0.0.1', 1), 'and no more hops than it says')
  const list = trustRule(['127.0.0.1/8', '10.0.0.0/8']) as TrustRule
  t.ok(list('10.1.2.3', 0))
  t.notOk(list('198.51.100.1', 0))
})

t.test('a hop count: the address one hop out, if it is an IP; else the peer', async (t) => {
  const one = trustRule(1) as TrustRule
  t.equal(client(undefined, one), '127.0.0.1')
  t.equal(client('203.0.113.7', one), '203.0.113.7')
  t.equal(client('2001:db8::1', one), '2001:db8::1')
  t.equal(client('<script>, 203.0.113.7', one), '203.0.113.7', 'what lies beyond the trusted hop does not matter')
  t.equal(client('<script>', one), '127.0.0.1')
  t.equal(client(LONG, one), '127.0.0.1')
  t.equal(client(`fe80::1%${LONG}`, one), '127.0.0.1', 'an IPv6 address with an unbounded zone id')
  t.equal(client('203.0.113.7,', one), '203.0.113.7', 'an empty entry is no entry (proxy-addr)')
  const two = trustRule(2) as TrustRule
  t.equal(client('<script>, 203.0.113.7', two), '127.0.0.1', 'the whole header goes, not only the bad entry')
  t.equal(client('198.51.100.1, 203.0.113.7', two), '198.51.100.1')
})

t.test('a list of proxies: the first address not in it, if it is an IP; else the peer', async (t) => {
  const list = trustRule(['127.0.0.1/8', '10.0.0.0/8']) as TrustRule
  t.equal(client('203.0.113.7', list), '203.0.113.7')
  t.equal(client('203.0.113.7, 10.0.0.2', list), '203.0.113.7')
  t.equal(client('<script>', list), '127.0.0.1', 'proxy-addr trusts no such entry, so it would return it')
  t.equal(client(`${LONG}, 10.0.0.2`, list), '127.0.0.1')
  t.equal(client('<script>', list, '198.51.100.9'), '198.51.100.9', 'a peer that is no proxy is the client, header or not')
})

t.test('true: the farthest address, if it is an IP; else the peer', async (t) => {
  const all = trustRule(true) as TrustRule
  t.equal(client('198.51.100.1, 203.0.113.7', all), '198.51.100.1')
  t.equal(client('<script>, 203.0.113.7', all), '127.0.0.1')
})

t.test('a valid header is left as it is', async (t) => {
  const request = incoming('198.51.100.1, 203.0.113.7')
  checkForwardedFor(request, trustRule(2) as TrustRule)
  t.equal(request.headers['x-forwarded-for'], '198.51.100.1, 203.0.113.7')
  const dropped = incoming('<script>')
  checkForwardedFor(dropped, trustRule(1) as TrustRule)
  t.notOk('x-forwarded-for' in dropped.headers)
})
