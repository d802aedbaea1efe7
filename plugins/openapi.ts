// The OpenAPI 3.1 document, generated from the route schemas by @fastify/swagger and
// served at GET /openapi.json, and Swagger UI at /docs (its assets ship in the package:
// nothing is fetched from elsewhere). Must be registered before the routes: it learns
// them from its onRoute hook.
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { FastifySchema, RouteOptions } from 'fastify'
import fp from 'fastify-plugin'
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const SECURITY_SCHEME = 'bearerAuth'

// Swagger UI is scripts, styles and images of its own origin that fetch the document and
// try requests there; its logo is a data: URI. Nothing else may load, post or frame it.
// Its one inline style is the <style> of its top bar's SVG logo, allowed by hash (the
// Chromium test in test/browser.test.ts reports the new hash if an update changes it).
const LOGO_STYLE = "'sha256-RL3ie0nH+Lzz2YNqQN83mnU0J1ot4QL7b99vMdIX99w='"
const DOCS_HEADERS = {
  'content-security-policy': `default-src 'none'; script-src 'self'; style-src 'self' ${LOGO_STYLE}; img-src 'self' data:; connect-src 'self'; ` +
    "form-action 'none'; base-uri 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer'
}

/** The gateway's version: the nearest package.json up from here (plugins/, or dist/plugins/). */
function packageVersion (): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  for (;;) {
    const file = join(dir, 'package.json')
    if (existsSync(file)) return (JSON.parse(readFileSync(file, 'utf8')) as { version?: string }).version ?? '0.0.0'
    const parent = dirname(dir)
    if (parent === dir) return '0.0.0'
    dir = parent
  }
}

/** Swagger UI groups operations by tag; routes that name none get one from their path. */
function tagOf (url: string): string {
  if (url.startsWith('/v1/files/:id/links') || url.startsWith('/v1/links')) return 'links'
  if (url.startsWith('/v1/files')) return 'files'
  if (url.startsWith('/s/')) return 'redemption'
  return 'operations'
}

interface Operation {
  parameters?: Array<{ required?: boolean, schema?: { default?: unknown } }>
  requestBody?: { required?: boolean, content?: Record<string, { schema?: { anyOf?: Array<{ type?: unknown }> } }> }
}

/**
 * What the generator cannot know: a parameter with a default is optional to the client
 * (Fastify fills it in) even where the schema lists it as required; a body whose schema
 * admits null may be left out; the upload streams a body no schema describes.
 */
function finish (document: { paths?: Record<string, Record<string, Operation>>, components?: { schemas?: Record<string, unknown> } }): void {
  // The upload route parses no body (it streams it), so its schema cannot say what it takes.
  const upload = document.paths?.['/v1/files']?.post
  if (upload !== undefined) {
    upload.requestBody = {
      required: true,
      content: {
        'multipart/form-data': { schema: { type: 'object', required: ['file'], properties: { file: { type: 'string', format: 'binary' } } } },
        '*/*': { schema: { type: 'string', format: 'binary', description: 'Any other content type: the file itself, of any length (name from ?filename=)' } }
      }
    } as unknown as Operation['requestBody']
  }
  for (const item of Object.values(document.paths ?? {})) {
    for (const operation of Object.values(item)) {
      for (const parameter of operation.parameters ?? []) {
        if (parameter.required === true && parameter.schema?.default !== undefined) parameter.required = false
      }
      const bodies = Object.values(operation.requestBody?.content ?? {})
      if (operation.requestBody !== undefined && bodies.length > 0 && bodies.every((media) => media.schema?.anyOf?.some((s) => s.type === 'null') === true)) {
        operation.requestBody.required = false
      }
    }
  }
}

export default fp(async function openapiPlugin (fastify) {
  // @fastify/swagger leaves out HEAD routes unless told: those Fastify derives from a GET
  // (same handler) stay out, a HEAD declared on its own (HEAD /s/:token) goes in.
  const getHandlers = new Map<string, RouteOptions['handler']>()
  fastify.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method]
    if (methods.includes('GET')) getHandlers.set(route.url, route.handler)
    if (methods.includes('HEAD') && getHandlers.get(route.url) !== route.handler) {
      const config = (route.config ?? {}) as { swagger?: Record<string, unknown> }
      route.config = { ...config, swagger: { ...config.swagger, exposeHeadRoute: true } }
    }
  })

  await fastify.register(swagger, {
    // Shared schemas (addSchema: Problem) are components named by their $id.
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => typeof json.$id === 'string' ? json.$id : `def-${i}` },
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Linkgate',
        version: packageVersion(),
        description: 'Streaming uploads to S3, short opaque share links, and a 302 to a short-lived presigned URL on redemption. ' +
          'Every error is an RFC 9457 problem (application/problem+json) with a stable `code`.'
      },
      components: {
        securitySchemes: {
          [SECURITY_SCHEME]: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'A personal API token (lgp_…), a JWT of the identity provider (OIDC_ISSUER), or an HS256 JWT signed with JWT_SECRET; see docs/identity.md' }
        }
      },
      tags: [
        { name: 'files', description: "The caller's files" },
        { name: 'links', description: "The caller's share links" },
        { name: 'redemption', description: 'Public share-link redemption' },
        { name: 'operations', description: 'Liveness and readiness' }
      ]
    },
    // The route schemas stay untouched: the document gets copies.
    transform ({ schema, url }) {
      const copy: FastifySchema = { ...schema }
      // Embedded mode's gateway-signed download URLs are not part of the API.
      if (url.startsWith('/o/')) copy.hide = true
      if (url.startsWith('/v1/')) copy.security = [{ [SECURITY_SCHEME]: [] }]
      // Share links: anyone, or a bearer token for restricted ones.
      if (url.startsWith('/s/')) copy.security = [{}, { [SECURITY_SCHEME]: [] }]
      copy.tags ??= [tagOf(url)]
      return { schema: copy, url }
    },
    transformObject (documentObject) {
      if (!('openapiObject' in documentObject)) return documentObject.swaggerObject
      finish(documentObject.openapiObject as Parameters<typeof finish>[0])
      return documentObject.openapiObject
    }
  })

  // In a context of its own, so that the headers reach every route of the UI, its static
  // assets (which swagger-ui's uiHooks do not reach) included, and nothing else.
  await fastify.register(async function docs (docs) {
    docs.addHook('onRequest', async (_request, reply) => { reply.headers(DOCS_HEADERS) })
    await docs.register(swaggerUi, { routePrefix: '/docs' })
  })

  fastify.get('/openapi.json', { schema: { hide: true } }, async () => fastify.swagger())
}, { name: 'openapi' })
