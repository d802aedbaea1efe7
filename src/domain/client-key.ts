// Which client a per-address budget belongs to. One IPv6 subscriber is handed a /64 (or
// more), and an address has many spellings (::ffff:1.2.3.4 is 1.2.3.4; 2001:DB8:0:0::1 is
// 2001:db8::1): budgets keyed by the raw address would give one client 2^64 of them.
import ipaddr from 'ipaddr.js'

/** An IPv4 address as it is, an IPv6 one as its canonical /64; anything else unchanged. */
export function clientKey (ip: string): string {
  if (!ipaddr.isValid(ip)) return ip
  const address = ipaddr.process(ip)
  if (address.kind() === 'ipv4') return address.toString()
  return `${ipaddr.IPv6.networkAddressFromCIDR(`${address.toString()}/64`).toString()}/64`
}
