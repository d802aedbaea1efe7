// Bearer JWT (HS256) for the /v1 API; `sub` is the user. Any failure is one 401.
import jwt from '@fastify/jwt'
import type { FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { HttpError } from '../src/errors.js'

declare module '@fastify/jwt' {
  interface FastifyJWT {
    payload: { sub: string }
    user: { sub: string }
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    authenticate: (request: FastifyRequest, reply: FastifyReply) => Promise<void>
  }
}

export const unauthenticated = (detail: string): HttpError => new HttpError(401, 'LG_UNAUTHENTICATED', detail)

export default fp(async function authPlugin (fastify) {
  await fastify.register(jwt, {
    secret: fastify.config.jwtSecret,
    sign: { algorithm: 'HS256' },
    // Only HS256: `none` and every asymmetric algorithm are refused.
    verify: { algorithms: ['HS256'] }
  })

  fastify.decorate('authenticate', async function authenticate (request: FastifyRequest, reply: FastifyReply) {
    reply.header('www-authenticate', 'Bearer')
    if (request.headers.authorization === undefined) throw unauthenticated('Missing Authorization: Bearer <JWT> header')
    try {
      await request.jwtVerify()
    } catch (err) {
      const code = (err as { code?: string }).code
      throw unauthenticated(code === 'FST_JWT_AUTHORIZATION_TOKEN_EXPIRED' ? 'The token has expired' : 'The bearer token is invalid')
    }
    const sub: unknown = request.user.sub
    if (typeof sub !== 'string' || sub === '' || sub.length > 256) throw unauthenticated('The token has no valid "sub" claim')
  })
}, { name: 'auth' })
