// The audit trail's schema: one event per security-relevant action. Stable: fields are
// only ever added. Never a token, a password, a JWT or a presigned URL.

import type { Static } from 'typebox'
import type { AuditEventNameSchema, AuditEventSchema, AuditOutcomeSchema } from './schemas.js'

export type AuditEvent = Static<typeof AuditEventSchema>
export type AuditEventName = Static<typeof AuditEventNameSchema>
export type AuditOutcome = Static<typeof AuditOutcomeSchema>

export type DenialReason =
  | 'not_found' | 'expired' | 'exhausted' | 'revoked'
  | 'forbidden' | 'unauthenticated' | 'bad_password' | 'bad_form' | 'rate_limited'

/** What a route says; the audit plugin adds time, request and client. */
export type AuditFields = Partial<Pick<AuditEvent, 'fileId' | 'linkId' | 'reason' | 'bytes' | 'sub'>> & {
  outcome?: AuditOutcome
}

const OUTCOMES: Record<AuditEventName, AuditOutcome> = {
  'file.uploaded': 'success',
  'file.upload_failed': 'failure',
  'file.deleted': 'success',
  'link.created': 'success',
  'link.redeemed': 'success',
  'link.denied': 'denied',
  'link.revoked': 'success',
  'auth.failed': 'denied',
  'auth.signed_in': 'success',
  'auth.sign_in_failed': 'failure',
  'auth.signed_out': 'success',
  'token.created': 'success',
  'token.revoked': 'success'
}

export function auditEvent (
  event: AuditEventName,
  context: { reqId: string, ip: string, userAgent: string | undefined, sub: string | null, now?: number },
  fields: AuditFields = {}
): AuditEvent {
  return {
    time: new Date(context.now ?? Date.now()).toISOString(),
    event,
    reqId: context.reqId,
    ip: context.ip,
    userAgent: context.userAgent?.slice(0, 512) ?? null,
    sub: fields.sub !== undefined ? fields.sub : context.sub,
    fileId: fields.fileId ?? null,
    linkId: fields.linkId ?? null,
    outcome: fields.outcome ?? OUTCOMES[event],
    reason: fields.reason ?? null,
    bytes: fields.bytes ?? null
  }
}
