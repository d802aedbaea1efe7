import { once } from 'node:events'
import { createServer, type Server } from 'node:net'
import t from 'tap'
import { freeClusterPort, freePort } from './ports.js'

/** Listens on `port` of 127.0.0.1 (rejects if it cannot), for the caller to close. */
async function bind (port: number): Promise<Server> {
  const server = createServer().listen(port, '127.0.0.1')
  await once(server, 'listening')
  return server
}

t.test('freePort: a port that can be bound right away', async (t) => {
  const port = await freePort()
  t.ok(Number.isInteger(port) && port > 0 && port < 65_536, `a TCP port (${port})`)
  const server = await bind(port)
  t.teardown(() => { server.close() })
  t.equal((server.address() as { port: number }).port, port, 'bound to that very port')
  t.not(await freePort(), port, 'and a port in use is not handed out')
})

t.test('freeClusterPort: a port and its cluster bus (port + 10000), both below the ephemeral range', async (t) => {
  const port = await freeClusterPort()
  t.ok(port >= 10_000 && port + 10_000 < 32_768, `below 32768 (${port}, ${port + 10_000})`)
  const servers = [await bind(port), await bind(port + 10_000)]
  t.teardown(() => { for (const s of servers) s.close() })
  t.pass('both can be bound')
})
