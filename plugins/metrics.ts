// Prometheus metrics at GET /metrics (text format 0.0.4), in a registry of this app's own,
// so that several apps in one process (the tests) never share counters. Names are
// prefixed `linkgate_`; labels are bounded sets (route patterns, never raw URLs, so no
// share token ever becomes a label). With METRICS_TOKEN set, the route wants
// `Authorization: Bearer <METRICS_TOKEN>`.
import type { S3Client } from '@aws-sdk/client-s3'
import { Type } from 'typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client'
import type { AuditEvent, DenialReason } from '../src/audit.js'
import { unauthenticated } from '../src/errors.js'
import { ProblemResponse } from '../src/schemas.js'
import type { BudgetStore } from '../src/stores/budget-store.js'
import type { LinkHistory } from '../src/stores/link-history.js'
import type { LinkStore } from '../src/stores/link-store.js'

export interface Metrics {
  /** This app's metrics (the process-wide default metrics are added at scrape time). */
  registry: Registry
  httpRequestDuration: Histogram<'method' | 'route' | 'status_code'>
  redemptions: Counter<'outcome'>
  uploadBytes: Counter<'outcome'>
  uploadDuration: Histogram<'outcome'>
  rateLimited: Counter<'route'>
  linkStoreDuration: Histogram<'operation'>
  s3RequestDuration: Histogram<'operation'>
}

declare module 'fastify' {
  interface FastifyInstance {
    metrics: Metrics
  }
}

const UNMATCHED = 'unmatched'
const DENIAL_REASONS = new Set<string>([
  'not_found', 'expired', 'exhausted', 'revoked', 'forbidden', 'unauthenticated', 'bad_password', 'bad_form', 'rate_limited'
] satisfies DenialReason[])

function createMetrics (): Metrics {
  const registry = new Registry()
  const registers = [registry]
  return {
    registry,
    httpRequestDuration: new Histogram({
      name: 'linkgate_http_request_duration_seconds',
      help: 'Time to answer an HTTP request, by method, route pattern and status code',
      labelNames: ['method', 'route', 'status_code'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers
    }),
    redemptions: new Counter({
      name: 'linkgate_redemptions_total',
      help: 'Share link redemptions, by outcome: redeemed, or the reason of the denial',
      labelNames: ['outcome'],
      registers
    }),
    uploadBytes: new Counter({
      name: 'linkgate_upload_bytes_total',
      help: 'Bytes received by uploads, by outcome (failure: what arrived before the upload failed)',
      labelNames: ['outcome'],
      registers
    }),
    uploadDuration: new Histogram({
      name: 'linkgate_upload_duration_seconds',
      help: 'Time to answer POST /v1/files, by outcome (success: status below 400)',
      labelNames: ['outcome'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600],
      registers
    }),
    rateLimited: new Counter({
      name: 'linkgate_rate_limited_total',
      help: 'Requests answered 429, by route pattern',
      labelNames: ['route'],
      registers
    }),
    linkStoreDuration: new Histogram({
      name: 'linkgate_link_store_duration_seconds',
      help: 'Time of one LinkStore call (its Redis round trips included), by operation',
      labelNames: ['operation'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers
    }),
    s3RequestDuration: new Histogram({
      name: 'linkgate_s3_request_duration_seconds',
      help: 'Time of one S3 HTTP request (each retry counts on its own), by operation',
      labelNames: ['operation'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers
    })
  }
}

// Process metrics (CPU, memory, event loop, GC) describe the process, not an app: one
// registry for the process, so that each app does not add its own GC observer.
let processRegistry: Registry | undefined
function defaultMetricsRegistry (): Registry {
  if (processRegistry === undefined) {
    processRegistry = new Registry()
    collectDefaultMetrics({ register: processRegistry })
  }
  return processRegistry
}

/**
 * Times every S3 HTTP request the client sends into `histogram`, labelled with the
 * operation (`PutObject`, `GetObject`, …). The middleware sits in the deserialize step:
 * inside the retry loop, so each attempt is one sample, and below the presigner's
 * interception, so presigning a URL (no request) is not counted. Idempotent.
 */
export function instrumentS3 (client: S3Client, histogram: Histogram<'operation'>): void {
  client.middlewareStack.add((next, context) => async (args) => {
    const operation = typeof context.commandName === 'string' ? context.commandName.replace(/Command$/, '') : 'unknown'
    const end = histogram.startTimer({ operation })
    try {
      return await next(args)
    } finally {
      end()
    }
  }, { step: 'deserialize', priority: 'high', name: 'linkgateS3Metrics', override: true })
}

// Every method of each port; a method added to a port must be listed (or it does not compile).
const LINK_STORE_OPERATIONS: Record<keyof LinkStore, true> = {
  putFile: true,
  getFile: true,
  listFiles: true,
  deleteFile: true,
  claimExpiredFiles: true,
  createLink: true,
  getLink: true,
  listLinks: true,
  revokeLink: true,
  redeem: true,
  peek: true,
  ping: true
}
const BUDGET_STORE_OPERATIONS: Record<keyof BudgetStore, true> = { spend: true, refund: true, acquireSlot: true, releaseSlot: true }
const LINK_HISTORY_OPERATIONS: Record<keyof LinkHistory, true> = { appendEvents: true, listEvents: true }

/**
 * Times every call of a store's methods into `histogram`, labelled with the method
 * (`redeem`, `spend`, …), failures included. The store's own methods are wrapped in place,
 * so that every holder of it is timed. (Not per Redis command: docs/decisions/0009-time-link-store-calls.md.)
 */
export function instrumentStore<T extends object> (store: T, operations: Record<keyof T & string, true>, histogram: Histogram<'operation'>): void {
  const methods = store as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>
  for (const operation of Object.keys(operations)) {
    const call = (methods[operation] as (...args: unknown[]) => Promise<unknown>).bind(store)
    const labels = { operation }
    methods[operation] = async (...args) => {
      const start = performance.now()
      try {
        return await call(...args)
      } finally {
        histogram.observe(labels, (performance.now() - start) / 1000)
      }
    }
  }
}

/** Equal-length digests, so the comparison is constant-time whatever the lengths. */
function tokenMatcher (expected: string): (presented: string) => boolean {
  const key = randomBytes(32)
  const digest = (value: string): Buffer => createHmac('sha256', key).update(value).digest()
  const want = digest(expected)
  return (presented) => timingSafeEqual(digest(presented), want)
}

function routeOf (request: FastifyRequest): string {
  return request.routeOptions.url ?? UNMATCHED
}

export default fp(async function metricsPlugin (fastify) {
  const metrics = createMetrics()
  const scraped = Registry.merge([metrics.registry, defaultMetricsRegistry()])
  fastify.decorate('metrics', metrics)
  if (fastify.s3Client !== null) instrumentS3(fastify.s3Client, metrics.s3RequestDuration)
  // With Redis the three are one object, whose methods are each wrapped once.
  instrumentStore(fastify.linkStore, LINK_STORE_OPERATIONS, metrics.linkStoreDuration)
  instrumentStore(fastify.budgetStore, BUDGET_STORE_OPERATIONS, metrics.linkStoreDuration)
  instrumentStore(fastify.linkHistory, LINK_HISTORY_OPERATIONS, metrics.linkStoreDuration)

  // (A callback hook: an async one costs a promise on every request.)
  fastify.addHook('onResponse', (request: FastifyRequest, reply: FastifyReply, done: () => void) => {
    const route = routeOf(request)
    const seconds = reply.elapsedTime / 1000
    metrics.httpRequestDuration.observe({ method: request.method, route, status_code: String(reply.statusCode) }, seconds)
    if (reply.statusCode === 429) metrics.rateLimited.inc({ route })
    if (request.method === 'POST' && route === '/v1/files') {
      metrics.uploadDuration.observe({ outcome: reply.statusCode < 400 ? 'success' : 'failure' }, seconds)
    }
    done()
  })

  fastify.auditEvents.on('event', (event: AuditEvent) => {
    switch (event.event) {
      case 'link.redeemed':
        metrics.redemptions.inc({ outcome: 'redeemed' })
        break
      case 'link.denied':
        metrics.redemptions.inc({ outcome: event.reason !== null && DENIAL_REASONS.has(event.reason) ? event.reason : 'other' })
        break
      case 'file.uploaded':
      case 'file.upload_failed':
        metrics.uploadBytes.inc({ outcome: event.event === 'file.uploaded' ? 'success' : 'failure' }, event.bytes ?? 0)
        break
    }
  })

  const token = fastify.config.metricsToken
  const matches = token === null ? null : tokenMatcher(token)

  fastify.get('/metrics', {
    schema: {
      summary: 'Prometheus metrics (text format 0.0.4); needs Authorization: Bearer <METRICS_TOKEN> when it is set',
      response: {
        200: { description: 'Prometheus text exposition format', content: { [scraped.contentType]: { schema: Type.String() } } },
        401: ProblemResponse
      }
    }
  }, async (request, reply) => {
    reply.header('cache-control', 'no-store')
    if (matches !== null) {
      const presented = /^Bearer +(\S+) *$/i.exec(request.headers.authorization ?? '')?.[1]
      if (presented === undefined || !matches(presented)) {
        // Counted like any failed bearer token: METRICS_TOKEN is not to be guessed at leisure.
        await fastify.authFailed(request)
        reply.header('www-authenticate', 'Bearer')
        throw unauthenticated('GET /metrics needs Authorization: Bearer <METRICS_TOKEN>')
      }
    }
    return await reply.type(scraped.contentType).send(await scraped.metrics())
  })
}, { name: 'metrics', dependencies: ['audit', 'stores', 'object-store', 'rate-limit'] })
