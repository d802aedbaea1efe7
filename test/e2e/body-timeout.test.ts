// Bodies that trickle, on the real server process and a raw socket: a form post or a JSON
// body that has not arrived within BODY_TIMEOUT gets a 408 and its connection is closed;
// an upload trickling more slowly still is not cut (only IDLE_TIMEOUT applies to it).
import { once } from 'node:events'
import { connect, type Socket } from 'node:net'
import { setTimeout as delay } from 'node:timers/promises'
import t from 'tap'
import { bearer, s3Env, startGateway } from '../helpers/gateway.js'
import { startRedis } from '../helpers/redis.js'
import { startS3 } from '../helpers/s3.js'

const authorization = bearer('trickle')

const BOUND_MS = 1000
const BYTE_EVERY_MS = 250

interface Answer {
  status: number
  headers: Record<string, string>
  body: string
  /** Body bytes the client had sent when the answer was complete. */
  sent: number
  /** From the end of the request's headers to the complete answer. */
  ms: number
  /** Resolves once the connection is closed. */
  closed: Promise<boolean>
}

/**
 * Sends the request's headers, then its body one byte every BYTE_EVERY_MS, until the body
 * is sent or an answer is complete. The connection is keep-alive (HTTP/1.1's default):
 * closing it is the server's choice.
 */
async function trickle (base: string, head: string[], body: string): Promise<Answer> {
  const socket: Socket = connect(Number(new URL(base).port), '127.0.0.1')
  await once(socket, 'connect')
  const closed = new Promise<boolean>((resolve) => { socket.once('close', () => { resolve(true) }) })
  let received = ''
  const answered = new Promise<Omit<Answer, 'sent' | 'ms' | 'closed'>>((resolve, reject) => {
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1')
      const end = received.indexOf('\r\n\r\n')
      if (end === -1) return
      const [statusLine = '', ...lines] = received.slice(0, end).split('\r\n')
      const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]))
      const rest = received.slice(end + 4)
      if (rest.length >= Number(headers['content-length'] ?? 0)) resolve({ status: Number(statusLine.split(' ')[1]), headers, body: rest })
    })
    socket.once('close', () => { reject(new Error(`the connection closed without a complete answer: ${received}`)) })
  })
  socket.write([...head, `content-length: ${Buffer.byteLength(body)}`, '', ''].join('\r\n'))
  const started = performance.now()
  let sent = 0
  let stop = false
  // The trickle is the thing under test: the delays are its pace, not a wait for an event.
  const sending = (async () => {
    while (sent < body.length) {
      await delay(BYTE_EVERY_MS)
      if (stop || socket.destroyed) return
      socket.write(body.charAt(sent))
      sent++
    }
  })()
  const answer = await answered
  const ms = performance.now() - started
  stop = true
  await sending
  return { ...answer, sent, ms, closed }
}

t.test(`BODY_TIMEOUT=${BOUND_MS / 1000}: a trickled form or JSON body gets a 408; an upload trickled more slowly does not`, async (t) => {
  const redis = await startRedis(t)
  const s3 = await startS3(t)
  const gw = await startGateway(t, { REDIS_URL: redis.url, REDIS_KEY_PREFIX: redis.keyPrefix, ...s3Env(s3), BODY_TIMEOUT: String(BOUND_MS / 1000) })
  const form = 'nonce=' + 'n'.repeat(34)
  const json = JSON.stringify({ ttl: 3600, maxDownloads: 12345 })
  const upload = 'x'.repeat(8)

  // At the same time, so that the upload is in flight while the others are cut.
  const [formAnswer, jsonAnswer, uploadAnswer] = await Promise.all([
    trickle(gw.base, ['POST /s/AAAAAAAAAAAAAAAAAAAAAA HTTP/1.1', 'host: gateway.test', 'content-type: application/x-www-form-urlencoded'], form),
    trickle(gw.base, ['POST /v1/files/01m8xm3p75958yzyjsam0hcnrf/links HTTP/1.1', 'host: gateway.test', `authorization: ${authorization}`, 'content-type: application/json'], json),
    trickle(gw.base, ['POST /v1/files?filename=trickle.txt HTTP/1.1', 'host: gateway.test', `authorization: ${authorization}`, 'content-type: text/plain'], upload)
  ])

  for (const [name, answer, length] of [['form post', formAnswer, form.length], ['JSON body', jsonAnswer, json.length]] as const) {
    t.equal(answer.status, 408, `${name}: ${answer.body}`)
    t.match(answer.headers['content-type'], /^application\/problem\+json/, name)
    t.match(JSON.parse(answer.body), { status: 408, code: 'LG_BODY_TIMEOUT' }, name)
    t.equal(answer.headers.connection, 'close', `${name}: the answer closes the connection`)
    // (Awaited only when announced: a connection kept alive stays open until teardown.)
    if (answer.headers.connection === 'close') t.ok(await answer.closed, `${name}: the server closed it`)
    t.ok(answer.sent < length, `${name}: cut before its body was complete (${answer.sent} of ${length} bytes)`)
    t.ok(answer.ms >= BOUND_MS, `${name}: not before BODY_TIMEOUT (${Math.round(answer.ms)} ms)`)
  }

  t.equal(uploadAnswer.status, 201, uploadAnswer.body)
  t.match(JSON.parse(uploadAnswer.body), { filename: 'trickle.txt', size: upload.length })
  t.ok(uploadAnswer.ms > BOUND_MS, `the upload took longer than BODY_TIMEOUT (${Math.round(uploadAnswer.ms)} ms)`)
  t.not(uploadAnswer.headers.connection, 'close', 'and its connection stays open')
})
