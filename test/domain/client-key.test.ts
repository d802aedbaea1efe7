import t from 'tap'
import { clientKey } from '../../src/domain/client-key.js'

t.test('one key per IPv4 address and per IPv6 /64, whatever the spelling', async (t) => {
  t.equal(clientKey('203.0.113.7'), '203.0.113.7')
  t.equal(clientKey('::ffff:203.0.113.7'), '203.0.113.7', 'an IPv4-mapped address is the IPv4 client')
  t.equal(clientKey('2001:db8:1:2:aaaa:bbbb:cccc:dddd'), '2001:db8:1:2::/64')
  t.equal(clientKey('2001:DB8:1:2:0:0:0:1'), '2001:db8:1:2::/64', 'case and zero runs do not matter')
  t.equal(clientKey('2001:db8:1:3::1'), '2001:db8:1:3::/64', 'another /64 is another client')
  t.equal(clientKey('::1'), '::/64')
  t.equal(clientKey('not an address'), 'not an address', 'anything else as it is (the socket always gives an IP)')
})
