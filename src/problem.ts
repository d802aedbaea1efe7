// Every error answer: an RFC 9457 problem (application/problem+json) for API clients, a
// small HTML page for browsers (a request that prefers text/html).
import type { FastifyReply, FastifyRequest } from 'fastify'
import { STATUS_CODES } from 'node:http'
import { prefersHtml } from './domain/negotiation.js'
import { errorPage, pageHeaders } from './pages.js'

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

const PAGE_TITLES: Record<number, string> = {
  401: 'Sign-in required',
  403: 'Access denied',
  404: 'This link does not work',
  429: 'Too many requests'
}

export function sendError (request: FastifyRequest, reply: FastifyReply, status: number, code: string, detail: string): FastifyReply {
  if (!prefersHtml(request.headers.accept)) return sendProblem(reply, status, code, detail)
  const title = PAGE_TITLES[status] ?? STATUS_CODES[status] ?? 'Error'
  return reply.code(status).headers(pageHeaders()).send(errorPage(title, detail))
}
