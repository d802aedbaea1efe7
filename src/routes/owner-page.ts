// GET / — the owner's page for a signed-in browser (else a way to sign in, or how to use
// the API), and GET /assets/<name>.<hash>.<ext>, its static files: the script, the style and
// tus-js-client, from this origin, cached for a year under names that change with their bytes.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { ENCODINGS, loadAssets } from '../page-assets.js'
import { preferredEncoding } from '../domain/negotiation.js'
import { notFound } from '../errors.js'
import { accountOf, ownerPage, pageHeaders, welcomePage } from '../pages.js'
import { ProblemResponse, errorResponses } from '../schemas.js'

const HTML = { description: 'A page', content: { 'text/html': { schema: Type.String() } } }
const YEAR_S = 365 * 86_400

/** Whether an If-None-Match header names `etag` (strong or weak, in a list, or `*`). */
function matches (ifNoneMatch: string | undefined, etag: string): boolean {
  if (ifNoneMatch === undefined) return false
  return ifNoneMatch.split(',').some((tag) => { const t = tag.trim(); return t === '*' || t.replace(/^W\//, '') === etag })
}

const ownerPageRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  const { config } = fastify
  const assets = loadAssets()
  const asset = (name: Parameters<typeof assets.byName.get>[0]): string => assets.byName.get(name)?.path ?? ''
  const paths = { script: asset('owner.js'), tus: asset('tus.min.js'), style: asset('owner.css') }
  // Only this gateway's own files and API, as the browser reaches it at PUBLIC_URL: not the
  // embedded store's /o/*, which serves what users uploaded on the same origin.
  const publicOrigin = new URL(config.publicUrl).origin
  const scripts = { assets: `${publicOrigin}/assets/`, api: `${publicOrigin}/v1/` }

  fastify.get('/', {
    schema: { summary: "The owner's page: upload, share and manage files in a browser", response: { 200: HTML, ...errorResponses } }
  }, async (request, reply) => {
    const identity = fastify.signInEnabled ? await fastify.identify(request, { bearer: false }) : null
    const user = identity === null ? undefined : request.session.get('user')
    if (user === undefined) return await reply.headers(pageHeaders()).send(welcomePage(fastify.signInEnabled, config.publicUrl))
    // Its sign-out form posts here, and ends at the identity provider.
    const formTargets = [publicOrigin, ...fastify.identityProvider?.origins() ?? []]
    return await reply.headers(pageHeaders(formTargets, scripts)).send(ownerPage({
      account: accountOf(user),
      assets: paths,
      defaultTtl: config.linkDefaultTtl,
      maxTtl: config.linkMaxTtl
    }))
  })

  fastify.get('/assets/:name', {
    schema: {
      summary: "The owner's page's script, style and tus-js-client (immutable: the name holds a hash of the bytes)",
      params: Type.Object({ name: Type.String({ pattern: '^[a-z]+\\.[0-9a-f]{16}(\\.min)?\\.(js|css)$' }) }),
      response: { 200: { description: 'The file', content: { 'text/javascript': { schema: Type.String() }, 'text/css': { schema: Type.String() } } }, 304: Type.Null(), 404: ProblemResponse }
    }
  }, async (request, reply) => {
    const found = assets.byPath.get(`/assets/${request.params.name}`)
    if (found === undefined) throw notFound('Asset')
    reply.headers({
      'content-type': found.contentType,
      'cache-control': `public, max-age=${YEAR_S}, immutable`,
      etag: found.etag,
      vary: 'accept-encoding',
      'x-content-type-options': 'nosniff',
      'cross-origin-resource-policy': 'same-origin'
    })
    if (matches(request.headers['if-none-match'], found.etag)) return await reply.code(304).send(null)
    const encoding = preferredEncoding(request.headers['accept-encoding'], ENCODINGS)
    if (encoding === null) return await reply.send(found.body)
    return await reply.header('content-encoding', encoding).send(await found.encoded(encoding))
  })
}

export default ownerPageRoutes
