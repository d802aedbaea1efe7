// What a personal API token may be limited to; every other credential may do all of it.
import { Type, type Static } from 'typebox'

export const ScopeSchema = Type.Union([Type.Literal('files:write'), Type.Literal('files:read'), Type.Literal('links:write'), Type.Literal('links:read')])
export type Scope = Static<typeof ScopeSchema>
