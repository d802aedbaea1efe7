// Who may redeem a link: anyone with it, any signed-in user, or a rule naming users, groups
// or e-mail domains (any match grants). The link's owner always may.
import { Type, type Static } from 'typebox'

const List = (item: ReturnType<typeof Type.String>, description: string) =>
  Type.Optional(Type.Array(item, { minItems: 1, maxItems: 100, uniqueItems: true, description }))

/** A DNS name in lower case: labels of letters, digits and inner dashes, a dot between. */
const DOMAIN_PATTERN = '^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)+[a-z]{2,63}$'

export const AccessRuleSchema = Type.Object({
  subjects: List(Type.String({ minLength: 1, maxLength: 256 }), 'These users (their user claim, `sub` by default)'),
  groups: List(Type.String({ minLength: 1, maxLength: 256 }), 'Members of these groups (the groups claim, `groups` by default)'),
  domains: List(Type.String({ pattern: DOMAIN_PATTERN, maxLength: 253 }), 'Users whose verified e-mail address is in one of these domains (lower case, e.g. example.com)')
}, { additionalProperties: false, minProperties: 1 })

export const AccessSchema = Type.Union([
  Type.Literal('public'),
  Type.Literal('authenticated'),
  AccessRuleSchema
], { description: 'public: anyone with the link; authenticated: anyone signed in; a rule: only the users, groups and e-mail domains it names (any match grants). The owner always may.' })

export type Access = Static<typeof AccessSchema>
export type AccessRule = Static<typeof AccessRuleSchema>

/** What access rules look at of whoever redeems. */
export interface Visitor {
  sub: string
  groups: readonly string[]
  /** A verified e-mail address, else null. */
  email: string | null
}

export type AccessDenial = 'unauthenticated' | 'forbidden'

/** The domain of an e-mail address, lower case ('' when there is none). */
function emailDomain (email: string): string {
  return email.slice(email.lastIndexOf('@') + 1).toLowerCase()
}

/** null when `visitor` (null: nobody signed in) may redeem. */
export function accessDenial (access: Access, owner: string, visitor: Visitor | null): AccessDenial | null {
  if (access === 'public') return null
  if (visitor === null) return 'unauthenticated'
  if (access === 'authenticated' || visitor.sub === owner) return null
  if (access.subjects?.includes(visitor.sub) === true) return null
  if (access.groups?.some((group) => visitor.groups.includes(group)) === true) return null
  if (visitor.email !== null && access.domains?.includes(emailDomain(visitor.email)) === true) return null
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
