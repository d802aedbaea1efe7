// What a new link may be: its lifetime and download budget, checked against the limits.
import { badRequest } from '../errors.js'

export interface LinkOptions {
  /** Seconds; defaults to the configured default. */
  ttl?: number | undefined
  maxDownloads?: number | undefined
}

export interface LinkLimits { defaultTtl: number, maxTtl: number }

export function linkLifetime (options: LinkOptions, limits: LinkLimits, now: number): { expiresAt: number, maxDownloads: number | null } {
  const ttl = options.ttl ?? limits.defaultTtl
  if (ttl > limits.maxTtl) {
    throw badRequest('LG_TTL_TOO_LONG', `ttl must be at most ${limits.maxTtl} seconds (LINK_MAX_TTL)`)
  }
  return { expiresAt: now + ttl * 1000, maxDownloads: options.maxDownloads ?? null }
}
