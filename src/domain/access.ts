// Who may redeem a link: anyone with it, any authenticated user, or named subjects.
// The link's owner always may.
import { Type, type Static } from 'typebox'

export const AccessSchema = Type.Union([
  Type.Literal('public'),
  Type.Literal('authenticated'),
  Type.Object({ subjects: Type.Array(Type.String({ minLength: 1, maxLength: 256 }), { minItems: 1, maxItems: 100, uniqueItems: true }) }, { additionalProperties: false })
], { description: 'public: anyone with the link; authenticated: any valid JWT; subjects: only these JWT subs (and the owner)' })

export type Access = Static<typeof AccessSchema>

export type AccessDenial = 'unauthenticated' | 'forbidden'

/** null when `sub` (null: no valid JWT was presented) may redeem. */
export function accessDenial (access: Access, owner: string, sub: string | null): AccessDenial | null {
  if (access === 'public') return null
  if (sub === null) return 'unauthenticated'
  if (access === 'authenticated' || sub === owner || access.subjects.includes(sub)) return null
  return 'forbidden'
}

/**
 * Whether redeeming needs a decision the link store cannot make by itself: an access
 * check, a password, or (for a browser) a page first, so that a preview bot's GET
 * consumes nothing. The Redis redeem script mirrors this rule.
 */
export function isGuarded (link: { access: Access, passwordHash: string | null, maxDownloads: number | null }, interactive: boolean): boolean {
  return link.access !== 'public' || link.passwordHash !== null || (interactive && link.maxDownloads !== null)
}
