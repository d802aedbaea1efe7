// Graceful shutdown over keep-alive connections. server.close() (Fastify's forceCloseConnections
// 'idle') only closes the connections idle when it starts; one still answering a request
// stays open after its response, and close() waits for it until close-with-grace kills the
// process. So, once the app is closing, every response says `Connection: close` (Node then
// ends its connection), and a connection whose response promised keep-alive before the
// close (a download already streaming) is closed as soon as that response is done.
import fp from 'fastify-plugin'

export default fp(async function shutdownPlugin (fastify) {
  let closing = false
  fastify.addHook('preClose', (done) => {
    closing = true
    // Also a mark for the shutdown tests: from here on, responses close their connections.
    fastify.log.info('draining: each connection closes after its response')
    done()
  })
  fastify.addHook('onSend', (_request, reply, payload, done) => {
    if (closing) reply.header('connection', 'close')
    done(null, payload)
  })
  // Node detached the response from its connection before this hook (its own 'finish'
  // listener came first), so that connection counts as idle now.
  fastify.addHook('onResponse', (_request, _reply, done) => {
    if (closing) fastify.server.closeIdleConnections()
    done()
  })
}, { name: 'shutdown' })
