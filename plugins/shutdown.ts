// Graceful shutdown over keep-alive connections. server.close() (Fastify's forceCloseConnections
// 'idle') only closes the connections idle when it starts; one still answering a request
// stays open after its response, and close() waits for it until close-with-grace kills the
// process. So, once the app is closing, every response says `Connection: close` (Node then
// ends its connection), and a connection whose response promised keep-alive before the
// close (a download already streaming) is closed as soon as that response is done.
// Uploads in flight get SHUTDOWN_GRACE seconds to finish (the server waits for them), then
// `graceOver` aborts them (src/intake.ts), which leaves nothing, like any failed upload.
import fp from 'fastify-plugin'
import { HttpError } from '../src/errors.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** Aborted SHUTDOWN_GRACE seconds after the app began to close, with a 503 LG_SHUTTING_DOWN. */
    graceOver: AbortSignal
  }
}

export default fp(async function shutdownPlugin (fastify) {
  let closing = false
  const grace = new AbortController()
  let graceTimer: NodeJS.Timeout | undefined
  fastify.decorate('graceOver', grace.signal)
  fastify.addHook('preClose', (done) => {
    closing = true
    graceTimer = setTimeout(() => {
      grace.abort(new HttpError(503, 'LG_SHUTTING_DOWN', 'The gateway is shutting down: upload again'))
    }, fastify.config.shutdownGrace * 1000)
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
  fastify.addHook('onClose', (_instance, done) => {
    clearTimeout(graceTimer)
    done()
  })
}, { name: 'shutdown' })
