// Logger options shared by the server and the tests. Secrets must never reach a log line:
// share tokens live in /s/ paths, signatures in query strings, JWTs and passwords in headers.
import type { FastifyRequest, FastifyServerOptions } from 'fastify'
import { ID_PATTERN } from './domain/ids.js'

/** Route parameters that hold a secret: never logged, whatever their value. */
const SECRET_PARAMS = new Set(['token'])
// A token is 22 URL-safe characters; percent-encoded (once or more) it is still one run of
// these and `%`. 16 catches a truncated one too. A well-formed id is no secret and is kept.
const TOKEN_LIKE = /[\w%-]{16,}/g
const ID_RE = new RegExp(ID_PATTERN)

/** A path with every run of characters that could hold a token masked. */
export function redactPath (path: string): string {
  return path.replace(TOKEN_LIKE, (run) => ID_RE.test(run) ? run : '[redacted]')
}

/** The path of a raw URL (no route matched it), query string dropped, token-like runs masked. */
export function redactUrl (url: string): string {
  return redactPath(url.split('?')[0] ?? '')
}

/**
 * The matched route's pattern with its parameters filled in (secret ones masked), else the
 * redacted raw path: `/%73/<token>` and `http://host/s/<token>` both log as `/s/[redacted]`.
 */
export function requestPath (request: Pick<FastifyRequest, 'url' | 'params' | 'routeOptions'>): string {
  const pattern = request.routeOptions.url
  if (pattern === undefined) return redactUrl(request.url)
  const params = (request.params ?? {}) as Record<string, unknown>
  return pattern.replace(/:(\w+)|\*/g, (placeholder, name: string | undefined) => {
    if (name !== undefined && SECRET_PARAMS.has(name)) return '[redacted]'
    const value = params[name ?? '*']
    return typeof value === 'string' ? redactPath(value) : placeholder
  })
}

export function loggerOptions (level: string): FastifyServerOptions['logger'] {
  return {
    level,
    redact: {
      paths: [
        'req.headers.authorization', 'req.headers["x-link-password"]', 'res.headers.location',
        // @fastify/multipart logs its busboy options at trace, the request's headers among them.
        'busboyOptions.headers',
        // Node's parse errors carry the raw request bytes (headers, tokens, passwords).
        'err.rawPacket'
      ],
      censor: '[redacted]'
    },
    serializers: {
      req (request: FastifyRequest) {
        return { method: request.method, url: requestPath(request), remoteAddress: request.ip }
      }
    }
  }
}
