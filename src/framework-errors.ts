// What fails before a route runs (a bad URL, malformed HTTP, a header timeout) is a problem
// with an LG_ code too: the server options frameworkErrors and clientErrorHandler.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { STATUS_CODES } from 'node:http'
import type { Socket } from 'node:net'
import { sendError, type Problem } from './problem.js'

// Codes from Fastify and its plugins (FST_*) are theirs to change: clients get ours.
const CODES_BY_STATUS: Record<number, string> = {
  404: 'LG_NOT_FOUND',
  408: 'LG_REQUEST_TIMEOUT',
  413: 'LG_PAYLOAD_TOO_LARGE',
  414: 'LG_URI_TOO_LONG',
  415: 'LG_UNSUPPORTED_MEDIA_TYPE',
  429: 'LG_RATE_LIMITED',
  431: 'LG_HEADERS_TOO_LARGE'
}

/** Ours for theirs: an LG_ code as it is, else the one of the status. */
export function publicCode (code: string | undefined, status: number): string {
  if (code?.startsWith('LG_') === true) return code
  return status >= 500 ? 'LG_INTERNAL' : (CODES_BY_STATUS[status] ?? 'LG_BAD_REQUEST')
}

/**
 * The server option `frameworkErrors`: errors raised before routing (a bad URL, an
 * over-long path segment). Their messages echo the path, which may hold a token, so
 * they are neither passed on nor logged.
 */
export function frameworkErrors (error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const status = error.statusCode ?? 400
  return sendError(request, reply.header('cache-control', 'no-store'), status, publicCode(undefined, status),
    status === 414 ? 'A path segment is too long' : status >= 500 ? 'Internal Server Error' : 'Malformed request')
}

// Node's own answers to what never became a request, as problems (llhttp's error codes).
const CLIENT_ERRORS: Record<string, { status: number, detail: string }> = {
  ERR_HTTP_REQUEST_TIMEOUT: { status: 408, detail: 'The request headers were not received in time' },
  HPE_HEADER_OVERFLOW: { status: 431, detail: 'The request headers are too large' }
}
const MALFORMED = { status: 400, detail: 'Malformed HTTP request' }

/**
 * The server option `clientErrorHandler`: malformed HTTP, header overflow, header timeout.
 * The error carries the raw bytes received (Authorization, tokens, passwords): only its
 * code is logged.
 */
export function clientErrorHandler (this: FastifyInstance, error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return
  const { status, detail } = CLIENT_ERRORS[error.code ?? ''] ?? MALFORMED
  const code = publicCode(undefined, status)
  this.log.debug({ clientError: error.code, status, code }, 'malformed request refused')
  // As Node does: never write into a response that has begun.
  const inFlight = (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage
  if (socket.writable && inFlight?.headersSent !== true) {
    const title = STATUS_CODES[status] ?? 'Error'
    const problem: Problem = { type: 'about:blank', title, status, detail, code }
    const body = JSON.stringify(problem)
    socket.write(`HTTP/1.1 ${status} ${title}\r\nContent-Type: application/problem+json; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n${body}`)
  }
  socket.destroy()
}
