// Every error is ours (issue 14): what Fastify, its plugins or Node's HTTP parser refuse
// reaches the client as a problem with an LG_ code, never an FST_ one. Through inject, and
// as raw bytes on a real socket for what never becomes a request.
import { once } from 'node:events'
import { connect, type AddressInfo, type Socket } from 'node:net'
import type { InjectOptions } from 'fastify'
import t from 'tap'
import { buildTestApp, multipartBody } from '../helpers/app.js'

const { app, auth } = await buildTestApp(t)
const authorization = auth('framework')
const upload = await app.inject({ method: 'POST', url: '/v1/files?filename=a.txt&share=true', headers: { authorization, 'content-type': 'text/plain' }, body: 'x' })
const file = upload.json() as { id: string, link: { token: string } }
const links = `/v1/files/${file.id}/links`

t.test('framework refusals through inject: an LG_ code, no FST_ anywhere', async (t) => {
  const many = multipartBody(Array.from({ length: 25 }, (_, i) => ({ name: `f${i}`, data: 'v' })))
  const cases: Array<[string, InjectOptions, number, string]> = [
    ['a bad percent-encoding in the path', { url: '/v1/files/%E0%A4%A' }, 400, 'LG_BAD_REQUEST'],
    ['an over-long path segment', { url: `/s/${'x'.repeat(300)}` }, 414, 'LG_URI_TOO_LONG'],
    ['an unsupported body type', { method: 'POST', url: links, headers: { authorization, 'content-type': 'application/xml' }, body: '<x/>' }, 415, 'LG_UNSUPPORTED_MEDIA_TYPE'],
    ['an over-large JSON body', { method: 'POST', url: links, headers: { authorization, 'content-type': 'application/json' }, body: JSON.stringify({ pad: 'p'.repeat(1_100_000) }) }, 413, 'LG_PAYLOAD_TOO_LARGE'],
    ['an empty JSON body', { method: 'POST', url: links, headers: { authorization, 'content-type': 'application/json' }, body: '' }, 400, 'LG_BAD_REQUEST'],
    ['invalid JSON', { method: 'POST', url: links, headers: { authorization, 'content-type': 'application/json' }, body: '{"ttl":' }, 400, 'LG_BAD_REQUEST'],
    ['an over-large form', { method: 'POST', url: `/s/${file.link.token}`, headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `nonce=${'n'.repeat(5000)}` }, 413, 'LG_PAYLOAD_TOO_LARGE'],
    ['too many multipart fields', { method: 'POST', url: '/v1/files', headers: { authorization, 'content-type': many.contentType }, body: many.body }, 400, 'LG_BAD_MULTIPART']
  ]
  for (const [what, request, status, code] of cases) {
    const res = await app.inject(request)
    t.equal(res.statusCode, status, what)
    t.match(res.headers['content-type'], /^application\/problem\+json/, `${what}: a problem`)
    t.match(res.json(), { status, code }, `${what}: ${code}`)
    t.notOk(res.body.includes('FST_'), `${what}: no FST_ in the body`)
  }
  const page = await app.inject({ url: '/v1/files/%E0%A4%A', headers: { accept: 'text/html' } })
  t.equal(page.statusCode, 400)
  t.match(page.body, /^<!doctype html>/)
  t.notOk(page.body.includes('FST_'), 'nor in the page a browser gets')
})

await app.listen({ host: '127.0.0.1', port: 0 })
const { port } = app.server.address() as AddressInfo

/** Writes `bytes` on a fresh connection (`act` may do more with both ends) and returns the answer. */
async function exchange (bytes: string, act?: (server: Socket) => void): Promise<string> {
  const accepted = once(app.server, 'connection') as Promise<[Socket]>
  const socket = connect(port, '127.0.0.1')
  socket.on('error', () => {})
  const chunks: Buffer[] = []
  socket.on('data', (chunk: Buffer) => chunks.push(chunk))
  const [server] = await accepted
  if (bytes !== '') socket.write(bytes)
  act?.(server)
  await once(socket, 'close')
  return Buffer.concat(chunks).toString('latin1')
}

function problemOf (answer: string): { status: number, head: string, body: Record<string, unknown> } {
  const [head = '', body = ''] = answer.split('\r\n\r\n')
  return { status: Number(/^HTTP\/1\.1 (\d{3}) /.exec(head)?.[1]), head, body: JSON.parse(body) }
}

t.test('what Node\'s HTTP parser refuses is a problem with an LG_ code, written on the socket', async (t) => {
  // The broken upload is audited once its handler sees the abort: awaited, so that it is not
  // still running when the app closes.
  const uploadFailed = new Promise<void>((resolve) => {
    app.auditEvents.on('event', (event) => { if (event.event === 'file.upload_failed') resolve() })
  })
  const cases: Array<[string, string, number, string]> = [
    ['a bad percent-encoding in the path', 'GET /v1/files/%E0%A4%A HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', 400, 'LG_BAD_REQUEST'],
    ['a header line without a colon', `GET /v1/files HTTP/1.1\r\nHost: x\r\nAuthorization: ${authorization}\r\nno colon\r\n\r\n`, 400, 'LG_BAD_REQUEST'],
    ['a malformed request line', 'GET / HTTP/9.9\r\n\r\n', 400, 'LG_BAD_REQUEST'],
    ['headers over the size limit', `GET / HTTP/1.1\r\nHost: x\r\nX-Pad: ${'p'.repeat(20_000)}\r\n\r\n`, 431, 'LG_HEADERS_TOO_LARGE'],
    ['a broken chunked body', `POST /v1/files?filename=x.txt HTTP/1.1\r\nHost: x\r\nAuthorization: ${authorization}\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n\r\n`, 400, 'LG_BAD_REQUEST']
  ]
  for (const [what, bytes, status, code] of cases) {
    const answer = await exchange(bytes)
    t.notOk(answer.includes('FST_'), `${what}: no FST_`)
    const problem = problemOf(answer)
    t.equal(problem.status, status, what)
    t.match(problem.head, /\r\ncontent-type: application\/problem\+json/i, `${what}: a problem`)
    t.match(problem.body, { status, code, type: 'about:blank' }, `${what}: ${code}`)
  }
  await uploadFailed
})

t.test('a client too slow with its headers gets a 408 problem (Node\'s own timeout error, on a real socket)', async (t) => {
  const answer = await exchange('GET / HTTP/1.1\r\nHost: x\r\n', (server) => {
    app.server.emit('clientError', Object.assign(new Error('Request timeout'), { code: 'ERR_HTTP_REQUEST_TIMEOUT' }), server)
  })
  const problem = problemOf(answer)
  t.equal(problem.status, 408)
  t.match(problem.body, { status: 408, code: 'LG_REQUEST_TIMEOUT' })
})
