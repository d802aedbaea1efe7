// The audit trail: every security-relevant event as one JSON line (to AUDIT_LOG, or to
// stdout with `audit: true`), written asynchronously once per event-loop turn and flushed
// on close; events about a link also go to the link's history in the LinkStore, for its
// owner to read, at most a second later: denials apart from the link's own lifecycle, so
// that refused requests cannot push the lifecycle out.
import type { FastifyBaseLogger, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { EventEmitter } from 'node:events'
import { appendFileSync } from 'node:fs'
import { mkdir, open } from 'node:fs/promises'
import { dirname } from 'node:path'
import { pino } from 'pino'
import { subjectOf } from '../src/identity.js'
import { ConfigError } from '../src/config.js'
import { withTimeout } from '../src/with-timeout.js'
import { auditEvent, type AuditEvent, type AuditEventName, type AuditFields } from '../src/audit.js'
import { LINK_HISTORY_GRACE_MS, LINK_HISTORY_MAX, type HistoryBatch } from '../src/stores/link-history.js'
import type { LinkRecord } from '../src/stores/link-store.js'

/** `request` null: the gateway acting on its own (the retention sweeper). */
export type Audit = (request: FastifyRequest | null, event: AuditEventName, fields?: AuditFields, link?: LinkRecord | null) => void

const SYSTEM = { reqId: 'system', ip: '', userAgent: undefined, sub: null }
const HISTORY_EVERY_MS = 1000

declare module 'fastify' {
  interface FastifyInstance {
    audit: Audit
    /** Emits 'event' with each AuditEvent as it is recorded (metrics listen here). */
    auditEvents: EventEmitter<{ event: [AuditEvent] }>
    /** Writes out what the trail holds, and waits for the histories (a history read calls it first). */
    flushAudit: () => Promise<void>
  }
}

/**
 * An AUDIT_LOG the gateway cannot append to is a mistake to report at start: the file's
 * stream would only fail with the first event. Bounded: Node's recursive mkdir never settles
 * under some paths (/proc/...).
 */
async function checkAppendable (path: string): Promise<void> {
  try {
    await withTimeout((async () => {
      await mkdir(dirname(path), { recursive: true })
      await (await open(path, 'a')).close()
    })(), 5000)
  } catch (err) {
    throw new ConfigError(`AUDIT_LOG must be a file the gateway can append to, and ${path} is not (${(err as Error).message})`)
  }
}

export default fp(async function auditPlugin (fastify) {
  const path = fastify.config.auditLog
  if (path !== null) await checkAppendable(path)
  // pino's asynchronous destination (SonicBoom); lines are written as they are, so that a
  // line is exactly the event: no level, pid or hostname, and the event's own ISO time.
  const destination = pino.destination({ dest: path ?? 1, sync: false, append: true })
  // A full disk or a lost permission must not crash the gateway: say so in the app log.
  destination.on('error', (err: Error) => { fastify.log.error({ err: { message: err.message } }, 'audit log write failed') })
  // On stdout, among the application's log lines, an audit line says so first.
  const line = path === null ? (json: string) => `{"audit":true,${json.slice(1)}\n` : (json: string) => `${json}\n`
  const events = new EventEmitter<{ event: [AuditEvent] }>()

  // Lines once per event-loop turn, a link's history at most once a second with its newest
  // LINK_HISTORY_MAX events: docs/decisions/0004-audit-and-history-batching.md. Best effort:
  // a history must never fail or slow the request it describes. A history read flushes
  // first (flushAudit), so that this instance reads its own writes; in flight writes are
  // awaited on close.
  let lines = ''
  let linesScheduled: NodeJS.Immediate | undefined
  /** Set once close() has ended the file's stream. */
  let ended = false
  function writeLines (): void {
    if (linesScheduled !== undefined) clearImmediate(linesScheduled)
    linesScheduled = undefined
    // An event of a request that ends while the gateway closes (an upload aborted by the
    // shutdown) comes after the stream: it is appended at once, not lost.
    if (lines !== '') {
      if (ended && path !== null) {
        try {
          appendFileSync(path, lines)
        } catch (err) {
          fastify.log.error({ err: { message: (err as Error).message } }, 'audit log write failed')
        }
      } else {
        // A stream that failed after the start (a full disk, a deleted directory) throws
        // here rather than emitting: logged, never a crash.
        try {
          destination.write(lines)
        } catch (err) {
          fastify.log.error({ err: { message: (err as Error).message } }, 'audit log write failed')
        }
      }
    }
    lines = ''
  }

  const pending = new Map<string, HistoryBatch & { keepUntil: number, log: FastifyBaseLogger }>()
  const writing = new Set<Promise<void>>()
  let historiesScheduled: NodeJS.Timeout | undefined
  function writeHistories (): void {
    if (historiesScheduled !== undefined) clearTimeout(historiesScheduled)
    historiesScheduled = undefined
    for (const [linkId, { lifecycle, denials, keepUntil, log }] of pending) {
      const write = fastify.linkHistory.appendEvents(linkId, { lifecycle, denials }, keepUntil)
        .catch((err: Error) => { log.warn({ err: { message: err.message } }, 'audit history write failed') })
        .finally(() => { writing.delete(write) })
      writing.add(write)
    }
    pending.clear()
  }

  const audit: Audit = (request, name, fields = {}, link = null) => {
    const context = request === null
      ? SYSTEM
      : { reqId: request.id, ip: request.ip, userAgent: request.headers['user-agent'], sub: subjectOf(request) }
    const event = auditEvent(name, context, { fileId: link?.fileId, linkId: link?.id, ...fields })
    // Serialised once, for the log line and the link's history alike.
    const json = JSON.stringify(event)
    lines += line(json)
    linesScheduled ??= setImmediate(writeLines)
    events.emit('event', event)
    if (link !== null) {
      let history = pending.get(link.id)
      if (history === undefined) {
        history = { lifecycle: [], denials: [], keepUntil: link.expiresAt + LINK_HISTORY_GRACE_MS, log: request?.log ?? fastify.log }
        pending.set(link.id, history)
      }
      const events = history[name === 'link.denied' ? 'denials' : 'lifecycle']
      events.push(json)
      if (events.length > LINK_HISTORY_MAX) events.shift()
      // Not holding the process open: close flushes it.
      historiesScheduled ??= setTimeout(writeHistories, HISTORY_EVERY_MS).unref()
    }
  }

  fastify.decorate('audit', audit)
  fastify.decorate('auditEvents', events)
  const flushAudit = async (): Promise<void> => {
    writeLines()
    writeHistories()
    await Promise.all(writing)
  }
  fastify.decorate('flushAudit', flushAudit)
  fastify.addHook('onClose', async () => {
    await flushAudit()
    await new Promise<void>((resolve) => {
      destination.flush(() => {
        // stdout stays open for the application log.
        if (path === null) {
          resolve()
          return
        }
        destination.once('close', () => { resolve() })
        ended = true
        destination.end()
      })
    })
  })
}, { name: 'audit', dependencies: ['stores'] })
