// Shared JSON schemas of the HTTP API (TypeBox, so route handlers are typed from them).
import { Type, type TArray, type TNull, type TObject, type TSchema, type TString, type TUnion } from 'typebox'
import { AccessSchema } from './domain/access.js'
import { DispositionSchema } from './domain/content-disposition.js'
import { ID_PATTERN } from './domain/ids.js'
import { LinkOptionsSchema } from './domain/link-policy.js'

// Schemas of domain shapes live beside their rules; the API uses them as they are.
export { AccessSchema, DispositionSchema, LinkOptionsSchema }

export const ProblemSchema = Type.Object({
  type: Type.String(),
  title: Type.String(),
  status: Type.Integer(),
  detail: Type.String(),
  code: Type.String()
}, { $id: 'Problem', description: 'RFC 9457 problem details' })

export const IdParamsSchema = Type.Object({ id: Type.String({ pattern: ID_PATTERN }) })

export const PageQuerySchema = Type.Object({
  limit: Type.Integer({ minimum: 1, maximum: 100, default: 50 }),
  cursor: Type.Optional(Type.String({ pattern: ID_PATTERN, description: '`next` of the previous page' }))
}, { additionalProperties: false })

/**
 * The query string of a share link, ignored: chat apps append tracking parameters (fbclid,
 * utm_*) to the links people share. Every other route refuses an unknown parameter.
 */
export const IgnoredQuerySchema = Type.Object({}, { additionalProperties: true, description: 'Ignored (chat apps append tracking parameters)' })

/** One page of a listing: its items, and the cursor for the next page (null on the last). */
export const PageSchema = <T extends TSchema>(item: T): TObject<{ items: TArray<T>, next: TUnion<[TString, TNull]> }> =>
  Type.Object({ items: Type.Array(item), next: Type.Union([Type.String(), Type.Null()]) })

export const FileSchema = Type.Object({
  id: Type.String(),
  filename: Type.String(),
  size: Type.Integer(),
  contentType: Type.String(),
  sha256: Type.String(),
  createdAt: Type.String({ format: 'date-time' }),
  expiresAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], { description: 'When the file is deleted by its retention; null: kept until deleted' })
})

const LinkFields = {
  id: Type.String(),
  fileId: Type.String(),
  createdAt: Type.String({ format: 'date-time' }),
  expiresAt: Type.String({ format: 'date-time' }),
  maxDownloads: Type.Union([Type.Integer(), Type.Null()]),
  downloads: Type.Integer(),
  status: Type.Union([Type.Literal('active'), Type.Literal('expired'), Type.Literal('exhausted'), Type.Literal('revoked')]),
  revokedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  access: AccessSchema,
  passwordProtected: Type.Boolean(),
  disposition: DispositionSchema
}

/** A link as listed: never its token. */
export const LinkSchema = Type.Object(LinkFields)

/** A link as created: the only time its token and URL are shown. */
export const NewLinkSchema = Type.Object({
  ...LinkFields,
  token: Type.String(),
  url: Type.String()
})

export const NewFileSchema = Type.Object({
  ...FileSchema.properties,
  link: Type.Optional(NewLinkSchema)
})

export const AuditEventNameSchema = Type.Union([
  Type.Literal('file.uploaded'), Type.Literal('file.upload_failed'), Type.Literal('file.deleted'),
  Type.Literal('link.created'), Type.Literal('link.redeemed'), Type.Literal('link.denied'), Type.Literal('link.revoked'),
  Type.Literal('auth.failed'), Type.Literal('auth.signed_in'), Type.Literal('auth.sign_in_failed'), Type.Literal('auth.signed_out'),
  Type.Literal('token.created'), Type.Literal('token.revoked')
])

export const AuditOutcomeSchema = Type.Union([Type.Literal('success'), Type.Literal('failure'), Type.Literal('denied')])

/** One event of the audit trail (src/audit.ts). Stable: fields are only ever added. */
export const AuditEventSchema = Type.Object({
  time: Type.String({ format: 'date-time' }),
  event: AuditEventNameSchema,
  reqId: Type.String(),
  ip: Type.String(),
  userAgent: Type.Union([Type.String(), Type.Null()]),
  sub: Type.Union([Type.String(), Type.Null()]),
  fileId: Type.Union([Type.String(), Type.Null()]),
  linkId: Type.Union([Type.String(), Type.Null()]),
  outcome: AuditOutcomeSchema,
  reason: Type.Union([Type.String(), Type.Null()]),
  bytes: Type.Union([Type.Integer(), Type.Null()])
})

/**
 * An error answer: the one Problem schema (registered by the errors plugin), referenced, as
 * application/problem+json.
 */
export const ProblemResponse = {
  description: 'An RFC 9457 problem',
  content: { 'application/problem+json': { schema: Type.Ref('Problem') } }
}

export const errorResponses = {
  400: ProblemResponse,
  401: ProblemResponse,
  404: ProblemResponse,
  429: ProblemResponse,
  500: ProblemResponse,
  503: ProblemResponse
}
