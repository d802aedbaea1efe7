// Who a request is, once the auth plugin has verified its bearer token: one user id,
// whatever proved it.
import type { FastifyRequest } from 'fastify'

/** The `sub` of a request whose JWT was verified (by authenticate or jwtVerify), else null. */
export function jwtSubject (request: FastifyRequest): string | null {
  const user = (request as { user?: { sub?: unknown } }).user
  return typeof user?.sub === 'string' ? user.sub : null
}
