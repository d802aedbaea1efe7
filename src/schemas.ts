// Shared JSON schemas of the HTTP API (TypeBox, so route handlers are typed from them).
import { Type, type TArray, type TNull, type TObject, type TSchema, type TString, type TUnion } from 'typebox'
import { ID_PATTERN } from './domain/ids.js'

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

export const AccessSchema = Type.Union([
  Type.Literal('public'),
  Type.Literal('authenticated'),
  Type.Object({ subjects: Type.Array(Type.String({ minLength: 1, maxLength: 256 }), { minItems: 1, maxItems: 100, uniqueItems: true }) }, { additionalProperties: false })
], { description: 'public: anyone with the link; authenticated: any valid JWT; subjects: only these JWT subs (and the owner)' })

export const DispositionSchema = Type.Union([Type.Literal('attachment'), Type.Literal('inline')])

export const LinkOptionsSchema = Type.Object({
  ttl: Type.Optional(Type.Integer({ minimum: 1, description: 'Seconds until the link expires (default LINK_DEFAULT_TTL, at most LINK_MAX_TTL)' })),
  maxDownloads: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000, description: 'Redirects the link grants before it is exhausted' })),
  access: Type.Optional(AccessSchema),
  password: Type.Optional(Type.String({ minLength: 8, maxLength: 256, description: 'Required to redeem; stored only as a scrypt hash' })),
  disposition: Type.Optional(Type.Union([DispositionSchema], { description: 'inline opens in the browser tab; HTML, SVG and XML are always attachments' }))
}, { additionalProperties: false })

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

export const AuditEventSchema = Type.Object({
  time: Type.String({ format: 'date-time' }),
  event: Type.String({ description: 'file.uploaded, file.upload_failed, file.deleted, link.created, link.redeemed, link.denied, link.revoked or auth.failed' }),
  reqId: Type.String(),
  ip: Type.String(),
  userAgent: Type.Union([Type.String(), Type.Null()]),
  sub: Type.Union([Type.String(), Type.Null()]),
  fileId: Type.Union([Type.String(), Type.Null()]),
  linkId: Type.Union([Type.String(), Type.Null()]),
  outcome: Type.Union([Type.Literal('success'), Type.Literal('failure'), Type.Literal('denied')]),
  reason: Type.Union([Type.String(), Type.Null()]),
  bytes: Type.Union([Type.Integer(), Type.Null()])
})

export const errorResponses = {
  400: ProblemSchema,
  401: ProblemSchema,
  404: ProblemSchema,
  429: ProblemSchema,
  500: ProblemSchema,
  503: ProblemSchema
}
