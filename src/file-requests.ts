// File requests (upload links): making one, and shaping it for its owner and for whoever
// holds its link. No Fastify here.
import type { Static } from 'typebox'
import { newId } from './domain/ids.js'
import { requestTerms, type RequestOptions } from './domain/request-policy.js'
import { hashToken, newToken } from './domain/tokens.js'
import { notFound } from './errors.js'
import type { NewRequestSchema, RequestInfoSchema, RequestSchema } from './schemas.js'
import { requestStatus, type RequestRecord, type RequestStore } from './stores/request-store.js'

const iso = (ms: number): string => new Date(ms).toISOString()

export type RequestView = Static<typeof RequestSchema>
export type NewRequestView = Static<typeof NewRequestSchema>
export type RequestInfo = Static<typeof RequestInfoSchema>

/** What a request has taken: files and bytes, counted as uploads start and given back when they fail. */
export interface Received { files: number, bytes: number }

/** Where a request's files and bytes are counted: a UsageStore key beside the owners' (usage:{<owner>}). */
export const requestUsageKey = (id: string): string => `usage:request:{${id}}`

export const isFull = (request: RequestRecord, received: Received): boolean =>
  received.files >= request.maxFiles || received.bytes >= request.maxBytes

export function requestView (request: RequestRecord, received: Received, now = Date.now()): RequestView {
  const status = requestStatus(request, now)
  return {
    id: request.id,
    createdAt: iso(request.createdAt),
    expiresAt: iso(request.expiresAt),
    maxFiles: request.maxFiles,
    maxBytes: request.maxBytes,
    allowedTypes: request.allowedTypes,
    passwordProtected: request.passwordHash !== null,
    message: request.message,
    status: status === 'active' && isFull(request, received) ? 'full' : status,
    revokedAt: request.revokedAt === null ? null : iso(request.revokedAt),
    received: { files: received.files, bytes: received.bytes }
  }
}

/** What the holder of the link may know: the owner's message and what is left, never who the owner is. */
export function requestInfo (request: RequestRecord, received: Received, maxUploadBytes: number): RequestInfo {
  return {
    message: request.message,
    expiresAt: iso(request.expiresAt),
    allowedTypes: request.allowedTypes,
    passwordRequired: request.passwordHash !== null,
    filesLeft: Math.max(0, request.maxFiles - received.files),
    bytesLeft: Math.max(0, request.maxBytes - received.bytes),
    maxFileBytes: maxUploadBytes
  }
}

export interface RequestDeps { requestStore: RequestStore, publicUrl: string, maxTtl: number }

/** Makes a request for `owner`; the token exists only in the returned view. */
export async function createFileRequest (deps: RequestDeps, owner: string, options: RequestOptions): Promise<{ record: RequestRecord, view: NewRequestView }> {
  const now = Date.now()
  const token = newToken()
  const record: RequestRecord = {
    id: newId(now),
    owner,
    tokenHash: hashToken(token),
    createdAt: now,
    ...await requestTerms(options, deps.maxTtl, now),
    revokedAt: null
  }
  await deps.requestStore.createRequest(record)
  return { record, view: { ...requestView(record, { files: 0, bytes: 0 }, now), token, url: `${deps.publicUrl}/r/${token}` } }
}

/** The caller's request; someone else's is indistinguishable from a missing one. */
export async function ownRequest (requestStore: RequestStore, id: string, owner: string): Promise<RequestRecord> {
  const request = await requestStore.getRequest(id)
  if (request === null || request.owner !== owner) throw notFound('Request')
  return request
}
