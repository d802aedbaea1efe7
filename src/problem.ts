// RFC 9457 problem details: the body of every error response.
import type { FastifyReply } from 'fastify'
import { STATUS_CODES } from 'node:http'

export interface Problem {
  type: string
  title: string
  status: number
  detail: string
  code: string
}

export function sendProblem (reply: FastifyReply, status: number, code: string, detail: string): FastifyReply {
  const problem: Problem = { type: 'about:blank', title: STATUS_CODES[status] ?? 'Error', status, detail, code }
  return reply.code(status).type('application/problem+json; charset=utf-8').send(problem)
}
