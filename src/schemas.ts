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
  code: Type.String(),
  remainingBytes: Type.Optional(Type.Integer({ description: 'Over quota: bytes the user may still upload (absent when QUOTA_BYTES is unset)' })),
  remainingFiles: Type.Optional(Type.Integer({ description: 'Over quota: files the user may still upload (absent when QUOTA_FILES is unset)' }))
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
  expiresAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], { description: 'When the file is deleted by its retention; null: kept until deleted' }),
  request: Type.Optional(Type.String({ description: 'The id of the file request it was uploaded by; absent for the owner\'s own uploads' }))
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

const Unlimited = <T extends TSchema>(schema: T, description: string): TUnion<[T, TNull]> => Type.Union([schema, Type.Null()], { description: `${description}; null: unlimited` })

/** GET /v1/me: who the caller is, what they keep, and the limits they upload under. */
export const MeSchema = Type.Object({
  user: Type.String({ description: 'The user id files and links belong to' }),
  usage: Type.Object({
    bytes: Type.Integer({ description: 'Bytes of the user\'s files, and reserved by their uploads in progress' }),
    files: Type.Integer({ description: 'The user\'s files, and their uploads in progress' })
  }),
  limits: Type.Object({
    quotaBytes: Unlimited(Type.Integer(), 'QUOTA_BYTES'),
    quotaFiles: Unlimited(Type.Integer(), 'QUOTA_FILES'),
    maxUploadBytes: Type.Integer({ description: 'MAX_UPLOAD_BYTES: the largest single upload' }),
    uploadConcurrency: Type.Integer({ description: 'UPLOAD_CONCURRENCY: uploads in progress at once' })
  }),
  remaining: Type.Object({
    bytes: Unlimited(Type.Integer(), 'Bytes the user may still upload under QUOTA_BYTES'),
    files: Unlimited(Type.Integer(), 'Files the user may still upload under QUOTA_FILES')
  })
})

const RequestFields = {
  id: Type.String(),
  createdAt: Type.String({ format: 'date-time' }),
  expiresAt: Type.String({ format: 'date-time' }),
  maxFiles: Type.Integer(),
  maxBytes: Type.Integer(),
  allowedTypes: Type.Union([Type.Array(Type.String()), Type.Null()], { description: 'Media types an upload may declare (type/subtype or type/*); null: any' }),
  passwordProtected: Type.Boolean(),
  message: Type.Union([Type.String(), Type.Null()]),
  status: Type.Union([Type.Literal('active'), Type.Literal('full'), Type.Literal('expired'), Type.Literal('revoked')], {
    description: 'full: every file or byte it takes is received or being received'
  }),
  revokedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  received: Type.Object({ files: Type.Integer(), bytes: Type.Integer() }, { description: 'What it has taken so far, uploads in progress included' })
}

/** A file request (upload link) as listed: never its token. */
export const RequestSchema = Type.Object(RequestFields)

/** A file request as created: the only time its token and URL are shown. */
export const NewRequestSchema = Type.Object({
  ...RequestFields,
  token: Type.String(),
  url: Type.String({ description: 'PUBLIC_URL/r/<token>: the page (browsers) and the upload endpoint (POST)' })
})

/** What anyone holding a request's link may know of it (GET /r/:token as JSON): never its owner. */
export const RequestInfoSchema = Type.Object({
  message: Type.Union([Type.String(), Type.Null()]),
  expiresAt: Type.String({ format: 'date-time' }),
  allowedTypes: Type.Union([Type.Array(Type.String()), Type.Null()]),
  passwordRequired: Type.Boolean(),
  filesLeft: Type.Integer(),
  bytesLeft: Type.Integer(),
  maxFileBytes: Type.Integer({ description: 'The largest one file may be (MAX_UPLOAD_BYTES), whatever is left' })
})

/** What an uploader is told of the file it sent: nothing of the owner's. */
export const ReceivedFileSchema = Type.Object({
  filename: Type.String(),
  size: Type.Integer(),
  contentType: Type.String(),
  sha256: Type.String()
})

export const AuditEventNameSchema = Type.Union([
  Type.Literal('file.uploaded'), Type.Literal('file.upload_failed'), Type.Literal('file.deleted'),
  Type.Literal('link.created'), Type.Literal('link.redeemed'), Type.Literal('link.denied'), Type.Literal('link.revoked'),
  Type.Literal('auth.failed'), Type.Literal('auth.signed_in'), Type.Literal('auth.sign_in_failed'), Type.Literal('auth.signed_out'),
  Type.Literal('token.created'), Type.Literal('token.revoked'),
  Type.Literal('request.created'), Type.Literal('request.revoked'), Type.Literal('request.file_received'), Type.Literal('request.denied'),
  Type.Literal('upload.created'), Type.Literal('upload.terminated'), Type.Literal('upload.expired')
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
  bytes: Type.Union([Type.Integer(), Type.Null()]),
  fileRequestId: Type.Union([Type.String(), Type.Null()], { description: 'The file request (upload link) the event is about' })
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
