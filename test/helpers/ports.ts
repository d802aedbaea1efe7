// Free loopback ports for the servers the tests start (redis-server, the gateway, stand-ins).
import { randomInt } from 'node:crypto'
import { once } from 'node:events'
import { createServer } from 'node:net'

/** Binds `port` (0: any) on 127.0.0.1, closes it again, and resolves with the port it had. */
async function probe (port: number): Promise<number> {
  const server = createServer().unref().listen(port, '127.0.0.1')
  await once(server, 'listening') // rejects with the 'error' of a port in use
  const { port: bound } = server.address() as { port: number }
  server.close()
  await once(server, 'close')
  return bound
}

/**
 * A port nothing listens on right now. Another process may take it before the caller
 * binds it: a server that can listen on port 0 and say which port it got should.
 */
export async function freePort (): Promise<number> {
  return await probe(0)
}

// Below the ephemeral range (32768 and up on Linux), so that outgoing connections never take them.
const LOW_PORTS = 12_768

/**
 * A port that is free with its port + 10000 (a Redis cluster node's bus), both below the
 * ephemeral range.
 */
export async function freeClusterPort (): Promise<number> {
  for (;;) {
    const port = 10_000 + randomInt(LOW_PORTS)
    try {
      await probe(port)
      await probe(port + 10_000)
      return port
    } catch {}
  }
}
