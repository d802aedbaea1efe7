// A request body that is not an upload (a form post to /s/:token, a link's JSON options)
// must arrive within BODY_TIMEOUT seconds, or the request gets a 408 and its connection is
// closed. requestTimeout is off for the uploads' sake, and IDLE_TIMEOUT only catches a
// silent connection, not a body trickled a byte at a time. A route that reads its body
// as a stream for as long as it takes (POST /v1/files) says so with `streamsBody`, and
// keeps the idle rule alone.
import fp from 'fastify-plugin'
import { PassThrough } from 'node:stream'
import { HttpError } from '../src/errors.js'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The handler reads the request body itself, however long it takes (only IDLE_TIMEOUT applies). */
    streamsBody?: boolean
  }
}

export default fp(async function bodyTimeoutPlugin (fastify) {
  const seconds = fastify.config.bodyTimeout
  fastify.addHook('preParsing', (request, reply, payload, done) => {
    const { headers } = request
    const noBody = headers['transfer-encoding'] === undefined && (headers['content-length'] === undefined || headers['content-length'] === '0')
    if (noBody || request.routeOptions.config.streamsBody === true) {
      done(null, payload)
      return
    }
    // The parser reads this stream; failing it fails the parse, with this error.
    const body = new PassThrough()
    // Piped only once the parser reads: a body Fastify leaves unread (a GET's) stays for
    // Node to discard after the response, as without this hook.
    body.once('resume', () => { payload.pipe(body) })
    // Unread, the stream's errors have no other listener.
    body.on('error', () => {})
    payload.once('error', (err) => { body.destroy(err) })
    const timer = setTimeout(() => {
      body.destroy(new HttpError(408, 'LG_BODY_TIMEOUT', `The request body was not complete within ${seconds} s (BODY_TIMEOUT)`, { connection: 'close' }))
    }, seconds * 1000)
    const stop = (): void => { clearTimeout(timer) }
    payload.once('end', stop)
    reply.raw.once('close', stop)
    done(null, body)
  })
}, { name: 'body-timeout' })
