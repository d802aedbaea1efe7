// What a new link may be: lifetime, download budget, who may use it, how it is served.
import { badRequest } from '../errors.js'
import type { Access } from './access.js'
import type { Disposition } from './content-disposition.js'
import { effectiveDisposition } from './disposition-policy.js'
import { hashPassword } from './password.js'

export interface LinkOptions {
  /** Seconds; defaults to the configured default. */
  ttl?: number | undefined
  maxDownloads?: number | undefined
  access?: Access | undefined
  password?: string | undefined
  disposition?: Disposition | undefined
}

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
