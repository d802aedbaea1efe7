// What a new link may be: lifetime, download budget, who may use it, how it is served.
import { badRequest } from '../errors.js'
import { Type, type Static } from 'typebox'
import { AccessSchema, type Access } from './access.js'
import { DispositionSchema, type Disposition } from './content-disposition.js'
import { effectiveDisposition } from './disposition-policy.js'
import { hashPassword } from './password.js'

export const LinkOptionsSchema = Type.Object({
  ttl: Type.Optional(Type.Integer({ minimum: 1, description: 'Seconds until the link expires (default LINK_DEFAULT_TTL, at most LINK_MAX_TTL)' })),
  maxDownloads: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000, description: 'Redirects the link grants before it is exhausted' })),
  access: Type.Optional(AccessSchema),
  password: Type.Optional(Type.String({ minLength: 8, maxLength: 256, description: 'Required to redeem; stored only as a scrypt hash' })),
  disposition: Type.Optional(Type.Union([DispositionSchema], { description: 'inline opens in the browser tab, for types that cannot run script (raster images, PDF, text/plain with a charset, audio, video); any other type is an attachment unless ALLOW_ACTIVE_INLINE' }))
}, { additionalProperties: false })

export type LinkOptions = Static<typeof LinkOptionsSchema>

export interface LinkLimits { defaultTtl: number, maxTtl: number, allowActiveInline: boolean }

export interface LinkTerms {
  expiresAt: number
  maxDownloads: number | null
  access: Access
  passwordHash: string | null
  disposition: Disposition
}

/** Throws the 400 for a ttl over LINK_MAX_TTL; returns the ttl to use. */
export function checkTtl (ttl: number | undefined, limits: Pick<LinkLimits, 'defaultTtl' | 'maxTtl'>): number {
  const effective = ttl ?? limits.defaultTtl
  if (effective > limits.maxTtl) {
    throw badRequest('LG_TTL_TOO_LONG', `ttl must be at most ${limits.maxTtl} seconds (LINK_MAX_TTL)`)
  }
  return effective
}

export async function linkTerms (options: LinkOptions, limits: LinkLimits, contentType: string, now: number): Promise<LinkTerms> {
  const ttl = checkTtl(options.ttl, limits)
  return {
    expiresAt: now + ttl * 1000,
    maxDownloads: options.maxDownloads ?? null,
    access: options.access ?? 'public',
    passwordHash: options.password === undefined ? null : await hashPassword(options.password),
    disposition: effectiveDisposition(options.disposition ?? 'attachment', contentType, limits.allowActiveInline)
  }
}
