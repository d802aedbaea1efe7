// Errors the application raises on purpose: each has an HTTP status and a stable code
// that clients can switch on. Plain classes, so domain code needs no Fastify.

export class HttpError extends Error {
  constructor (readonly statusCode: number, readonly code: string, message: string, readonly headers: Record<string, string> = {}) {
    super(message)
    this.name = 'HttpError'
  }
}

export const notFound = (what: string): HttpError => new HttpError(404, 'LG_NOT_FOUND', `${what} not found`)
export const unauthenticated = (detail: string, headers: Record<string, string> = {}): HttpError => new HttpError(401, 'LG_UNAUTHENTICATED', detail, headers)
export const badRequest = (code: string, message: string): HttpError => new HttpError(400, code, message)
export const tooLarge = (limit: number): HttpError =>
  new HttpError(413, 'LG_UPLOAD_TOO_LARGE', `File exceeds the upload limit of ${limit} bytes`)
export const unavailable = (dependency: string, cause?: unknown): HttpError =>
  Object.assign(new HttpError(503, 'LG_DEPENDENCY_UNAVAILABLE', `The ${dependency} is unavailable, try again shortly`), { cause })
export const badGateway = (dependency: string, cause?: unknown): HttpError =>
  Object.assign(new HttpError(502, 'LG_DEPENDENCY_FAILED', `The ${dependency} failed to complete the request`), { cause })
