// Logger options shared by the server and the tests. Secrets must never reach a log line:
// share tokens live in /s/ paths, signatures in query strings, JWTs in headers.
import type { FastifyServerOptions } from 'fastify'

/** The path with any /s/<token> masked and the query string dropped. */
export function redactUrl (url: string): string {
  const path = url.split('?')[0] ?? ''
  return path.replace(/^\/s\/[^/]*/, '/s/[redacted]')
}

export function loggerOptions (level: string): FastifyServerOptions['logger'] {
  return {
    level,
    redact: { paths: ['req.headers.authorization', 'req.headers["x-link-password"]', 'res.headers.location'], censor: '[redacted]' },
    serializers: {
      req (request: { method: string, url: string, ip?: string, id?: string }) {
        return { method: request.method, url: redactUrl(request.url), remoteAddress: request.ip }
      }
    }
  }
}
