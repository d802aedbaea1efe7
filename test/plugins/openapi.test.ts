// The OpenAPI document at /openapi.json, generated from the route schemas: valid OpenAPI
// 3 (checked by swagger-parser, a real validator) and complete against the contract the
// README states; and Swagger UI at /docs, served from the package's own assets.
//
// Where a route's schema does not yet describe the route completely, the gap is listed in
// KNOWN_GAPS below: each check must find exactly its known gaps, so a new gap fails the
// test, and so does a fixed one that is still listed (delete it from the list).
import SwaggerParser from '@apidevtools/swagger-parser'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { buildTestApp } from '../helpers/app.js'
import { ROOT } from '../helpers/root.js'

const KNOWN_GAPS: Record<'summaries' | 'v1Security' | 'errorResponses' | 'requestSchemas' | 'successResponses', string[]> = {
  summaries: [],
  v1Security: [],
  errorResponses: [
    'GET /healthz: no 4xx response documented',
    // Probes answer 200 or 503, never a client error.
    'GET /readyz: no 4xx response documented'
  ],
  requestSchemas: [],
  successResponses: []
}

interface Schema { type?: unknown, anyOf?: Schema[], $ref?: string }
interface Media { schema?: Schema }
interface Parameter { in: string, name: string, required?: boolean, schema?: Schema }
interface Operation {
  summary?: string
  security?: Array<Record<string, string[]>>
  parameters?: Parameter[]
  requestBody?: { required?: boolean, content?: Record<string, Media> }
  responses?: Record<string, { description?: string, content?: Record<string, Media> }>
}
interface Document {
  openapi: string
  info: { title: string, version: string }
  components?: { securitySchemes?: Record<string, unknown>, schemas?: Record<string, unknown> }
  paths: Record<string, Record<string, Operation>>
}

/** What the README promises of each operation; anything else documented gets the generic checks only. */
interface Contract {
  query?: string[]
  headers?: string[]
  /** Media types the request body must be documented with (`a|b`: either will do). */
  body?: string[]
  bodyOptional?: boolean
  success: string[]
  /** Statuses that must be documented besides the success ones. */
  errors?: string[]
  /** Responses that are HTML pages. */
  html?: string[]
}

const CONTRACT: Record<string, Contract> = {
  'POST /v1/files': { query: ['filename', 'share', 'ttl', 'maxDownloads'], body: ['multipart/form-data', 'application/octet-stream|*/*'], success: ['201'], errors: ['400', '401', '413'] },
  'GET /v1/files': { query: ['limit', 'cursor'], success: ['200'], errors: ['400', '401'] },
  'GET /v1/files/{id}': { success: ['200'], errors: ['401', '404'] },
  'DELETE /v1/files/{id}': { success: ['204'], errors: ['401', '404'] },
  'GET /v1/files/{id}/url': { success: ['200'], errors: ['401', '404'] },
  'POST /v1/files/{id}/links': { body: ['application/json'], bodyOptional: true, success: ['201'], errors: ['400', '401', '404'] },
  'GET /v1/links': { query: ['limit', 'cursor'], success: ['200'], errors: ['400', '401'] },
  'GET /v1/links/{id}': { success: ['200'], errors: ['401', '404'] },
  'GET /v1/links/{id}/events': { query: ['limit'], success: ['200'], errors: ['401', '404'] },
  'DELETE /v1/links/{id}': { success: ['204'], errors: ['401', '404'] },
  'GET /s/{token}': { headers: ['x-link-password'], success: ['302', '200'], errors: ['401', '403', '404'], html: ['200'] },
  'HEAD /s/{token}': { success: ['200'], errors: ['404'] },
  'POST /s/{token}': { body: ['application/x-www-form-urlencoded'], success: ['303', '200'], errors: ['401', '403', '404'], html: ['200'] },
  'GET /healthz': { success: ['200'] },
  'GET /readyz': { success: ['200'], errors: ['503'] }
}

const HTTP_METHODS = new Set(['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'])
const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }

const { app } = await buildTestApp(t)
const res = await app.inject({ url: '/openapi.json' })
const doc = res.json<Document>()

/** Every documented operation, as [`METHOD /path`, operation]. */
const operations: Array<[string, Operation]> = Object.entries(doc.paths).flatMap(([path, item]) =>
  Object.entries(item).filter(([method]) => HTTP_METHODS.has(method)).map(([method, op]): [string, Operation] => [`${method.toUpperCase()} ${path}`, op]))

const hasSchema = (media: Media | undefined): boolean => media?.schema !== undefined && media.schema !== null
const statusesOf = (op: Operation): string[] => Object.keys(op.responses ?? {})

t.test('/openapi.json is a valid OpenAPI 3 document', async (t) => {
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /^application\/json/)
  t.match(doc.openapi, /^3\./)
  t.match(doc.info, { title: 'Linkgate', version })
  // validate() dereferences in place: it gets a copy.
  await t.resolves(SwaggerParser.validate(structuredClone(doc) as never), 'swagger-parser validates the document')
  // The validator is real: a response without its mandatory description is refused.
  const broken = structuredClone(doc)
  delete broken.paths['/healthz']?.get?.responses?.['200']?.description
  await t.rejects(SwaggerParser.validate(broken as never), /description/)
  t.same(doc.components?.securitySchemes?.bearerAuth, { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'A personal API token (lgp_…), a JWT of the identity provider (OIDC_ISSUER), or an HS256 JWT signed with JWT_SECRET; see docs/identity.md' })
})

t.test('the documented operations: every route of the contract, nothing embedded-only or internal', async (t) => {
  const documented = new Set(operations.map(([name]) => name))
  for (const name of Object.keys(CONTRACT)) t.ok(documented.has(name), `${name} is documented`)
  const paths = Object.keys(doc.paths)
  t.notOk(paths.some((p) => p.startsWith('/o/')), '/o/* (embedded mode only) is hidden')
  t.notOk(paths.some((p) => p.startsWith('/docs') || p === '/openapi.json'), 'the documentation routes are not documented')
  t.notOk(documented.has('HEAD /v1/files/{id}'), 'HEAD routes Fastify derives from a GET stay out')
})

t.test('every operation has a summary', async (t) => {
  const found = operations.filter(([, op]) => typeof op.summary !== 'string' || op.summary.trim() === '').map(([name]) => `${name}: no summary`)
  t.same(found, KNOWN_GAPS.summaries, 'exactly the gaps listed in KNOWN_GAPS.summaries')
})

t.test('every /v1 operation declares the bearer security scheme', async (t) => {
  const found = operations
    .filter(([name]) => name.split(' ')[1]?.startsWith('/v1/') === true)
    .filter(([, op]) => op.security?.some((requirement) => Object.keys(requirement).length === 1 && Array.isArray(requirement.bearerAuth)) !== true)
    .map(([name]) => `${name}: no bearerAuth security`)
  t.same(found, KNOWN_GAPS.v1Security, 'exactly the gaps listed in KNOWN_GAPS.v1Security')
  // Share links take an optional bearer token (restricted links).
  t.same(doc.paths['/s/{token}']?.get?.security, [{}, { bearerAuth: [] }])
  t.equal(doc.paths['/healthz']?.get?.security, undefined, 'health checks need no token')
})

t.test('every operation documents its error responses', async (t) => {
  const found: string[] = []
  for (const [name, op] of operations) {
    const statuses = statusesOf(op)
    if (!statuses.some((s) => /^4\d\d$/.test(s))) found.push(`${name}: no 4xx response documented`)
    for (const status of CONTRACT[name]?.errors ?? []) if (!statuses.includes(status)) found.push(`${name}: ${status} not documented`)
    if (name.startsWith('HEAD ')) continue
    for (const status of statuses.filter((s) => Number(s) >= 400)) {
      if (!hasSchema(op.responses?.[status]?.content?.['application/problem+json'])) found.push(`${name}: ${status} has no application/problem+json schema`)
    }
  }
  t.same(found, KNOWN_GAPS.errorResponses, 'exactly the gaps listed in KNOWN_GAPS.errorResponses')
  t.ok(doc.components?.schemas?.Problem, 'errors share one Problem schema')
})

t.test('every operation has complete request schemas', async (t) => {
  const found: string[] = []
  for (const [name, op] of operations) {
    const [method = '', path = ''] = name.split(' ')
    const parameters = op.parameters ?? []
    const param = (where: string, key: string): Parameter | undefined => parameters.find((p) => p.in === where && p.name === key)
    for (const [, key = ''] of path.matchAll(/\{([^}]+)\}/g)) {
      const p = param('path', key)
      if (p?.schema === undefined || p.required !== true) found.push(`${name}: path parameter ${key} not documented`)
    }
    for (const p of parameters) if (p.schema === undefined) found.push(`${name}: ${p.in} parameter ${p.name} has no schema`)
    const contract = CONTRACT[name]
    for (const key of contract?.query ?? []) if (param('query', key) === undefined) found.push(`${name}: query parameter ${key} not documented`)
    for (const key of contract?.headers ?? []) if (param('header', key) === undefined) found.push(`${name}: header ${key} not documented`)

    const takesBody = contract?.body !== undefined || ['POST', 'PUT', 'PATCH'].includes(method)
    const content = op.requestBody?.content ?? {}
    if (takesBody && !Object.values(content).some(hasSchema)) found.push(`${name}: no request body documented`)
    for (const types of contract?.body ?? []) {
      if (!types.split('|').some((type) => hasSchema(content[type]))) found.push(`${name}: request body not documented as ${types.replaceAll('|', ' or ')}`)
    }
    if (op.requestBody !== undefined && contract?.bodyOptional === true && op.requestBody.required !== false) found.push(`${name}: optional request body documented as required`)
  }
  t.same(found, KNOWN_GAPS.requestSchemas, 'exactly the gaps listed in KNOWN_GAPS.requestSchemas')
})

t.test('every operation documents its success responses, with a schema where they have a body', async (t) => {
  const found: string[] = []
  for (const [name, op] of operations) {
    const statuses = statusesOf(op)
    const success = statuses.filter((s) => /^[23]\d\d$/.test(s))
    if (success.length === 0) found.push(`${name}: no success response documented`)
    for (const status of CONTRACT[name]?.success ?? []) if (!statuses.includes(status)) found.push(`${name}: ${status} not documented`)
    for (const status of success) {
      const response = op.responses?.[status]
      if (typeof response?.description !== 'string' || response.description === '') found.push(`${name}: ${status} has no description`)
      // 204, redirects and HEAD answers carry no body.
      const bodiless = name.startsWith('HEAD ') || status === '204' || status.startsWith('3')
      if (!bodiless && !Object.values(response?.content ?? {}).some(hasSchema)) found.push(`${name}: ${status} has no response schema`)
    }
    for (const status of CONTRACT[name]?.html ?? []) {
      if (!hasSchema(op.responses?.[status]?.content?.['text/html'])) found.push(`${name}: ${status} not documented as text/html`)
    }
  }
  t.same(found, KNOWN_GAPS.successResponses, 'exactly the gaps listed in KNOWN_GAPS.successResponses')
})

t.test('GET /s/{token} documents its 302 and its 404', async (t) => {
  const responses = doc.paths['/s/{token}']?.get?.responses ?? {}
  t.ok(responses['302'], '302 to the presigned URL')
  t.ok(responses['404'], '404 for an unknown, expired, revoked or used-up link')
  t.match(doc.paths['/s/{token}']?.get?.parameters, [{ in: 'path', name: 'token', required: true, schema: { type: 'string', pattern: /.+/ } }])
})

t.test('/docs serves Swagger UI from the package, with nothing fetched from elsewhere', async (t) => {
  let page = await app.inject({ url: '/docs' })
  for (let hops = 0; page.statusCode >= 300 && page.statusCode < 400 && hops < 3; hops++) {
    page = await app.inject({ url: new URL(String(page.headers.location), 'http://gateway.test/docs').pathname })
  }
  t.equal(page.statusCode, 200)
  t.match(page.headers['content-type'], /^text\/html/)
  t.match(page.body, /<div id="swagger-ui">/)
  const assets = [...page.body.matchAll(/(?:src|href)="([^"]+)"/g)].map(([, url = '']) => url)
  t.ok(assets.length >= 4, 'stylesheets and scripts')
  for (const asset of assets) {
    t.notMatch(asset, /^(https?:)?\/\//, `${asset} is served by the gateway`)
    const res = await app.inject({ url: new URL(asset, 'http://gateway.test/docs').pathname })
    t.equal(res.statusCode, 200, `${asset} answers 200`)
    t.ok(res.rawPayload.length > 0, `${asset} is not empty`)
  }
  // No validator badge: swagger.io's online validator would be the one outside request.
  t.match((await app.inject({ url: '/docs/static/swagger-initializer.js' })).body, /validatorUrl: null/)
  // The UI loads the same document.
  t.same((await app.inject({ url: '/docs/json' })).json(), doc)
})
