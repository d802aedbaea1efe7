// POST /v1/qr — a QR code of one of this gateway's URLs, as SVG, for the owner's page. The
// page sends the link it holds (a token is shown once and stored only as a hash, so the
// gateway could not make the picture from a link id), in a body, never a URL, so that the
// link stays out of logs. Only URLs under PUBLIC_URL, of at most 512 characters: not a QR
// service for anything else.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import encodeQR from 'qr'
import { Type } from 'typebox'
import { badRequest } from '../errors.js'
import { errorResponses } from '../schemas.js'

export const QR_MAX_TEXT = 512

// An SVG is a document that could hold script: this one holds none, and says so.
const SVG_HEADERS = {
  'content-type': 'image/svg+xml',
  'x-content-type-options': 'nosniff',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'; sandbox",
  'cache-control': 'no-store'
}

/** The library draws the dark modules only: a white ground keeps the code readable on a dark page or viewer. */
function onWhite (svg: string): string {
  const opened = svg.indexOf('>') + 1
  return `${svg.slice(0, opened)}<rect width="100%" height="100%" fill="#fff"/>${svg.slice(opened)}`
}

const qrRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  const prefix = `${fastify.config.publicUrl}/`

  fastify.post('/qr', {
    config: { scope: 'links:read' },
    schema: {
      summary: "A QR code (SVG) of a URL of this gateway's, such as a share link just made",
      body: Type.Object({
        text: Type.String({ pattern: `^[\\x21-\\x7e]{1,${QR_MAX_TEXT}}$`, description: `A URL that starts with PUBLIC_URL/, in ASCII, at most ${QR_MAX_TEXT} characters` })
      }, { additionalProperties: false }),
      response: { 200: { description: 'The QR code', content: { 'image/svg+xml': { schema: Type.String() } } }, ...errorResponses }
    }
  }, async (request, reply) => {
    const { text } = request.body
    if (!text.startsWith(prefix)) throw badRequest('LG_QR_NOT_OURS', `Only URLs of this gateway (${prefix}…) are made into QR codes`)
    // A quiet zone of four modules, as the standard asks: phones read it from a screen.
    return await reply.headers(SVG_HEADERS).send(onWhite(encodeQR(text, 'svg', { border: 4 })))
  })
}

export default qrRoutes
