// Minting share links and shaping files and links for the API. No Fastify here.
import type { Config } from './config.js'
import { newId } from './domain/ids.js'
import type { Static } from 'typebox'
import { linkTerms, type LinkLimits, type LinkOptions } from './domain/link-policy.js'
import { hashToken, newToken } from './domain/tokens.js'
import { notFound } from './errors.js'
import type { FileSchema, LinkSchema, NewLinkSchema } from './schemas.js'
import { linkStatus, type FileRecord, type LinkRecord, type LinkStore } from './stores/link-store.js'

const iso = (ms: number): string => new Date(ms).toISOString()

export type FileView = Static<typeof FileSchema>
export type LinkView = Static<typeof LinkSchema>
export type NewLinkView = Static<typeof NewLinkSchema>

export function fileView (file: FileRecord): FileView {
  const { id, filename, size, contentType, sha256, createdAt, expiresAt } = file
  return { id, filename, size, contentType, sha256, createdAt: iso(createdAt), expiresAt: expiresAt === null ? null : iso(expiresAt) }
}

export function linkView (link: LinkRecord, now = Date.now()): LinkView {
  return {
    id: link.id,
    fileId: link.fileId,
    createdAt: iso(link.createdAt),
    expiresAt: iso(link.expiresAt),
    maxDownloads: link.maxDownloads,
    downloads: link.downloads,
    status: linkStatus(link, now),
    revokedAt: link.revokedAt === null ? null : iso(link.revokedAt),
    access: link.access,
    passwordProtected: link.passwordHash !== null,
    disposition: link.disposition
  }
}

export interface ShareDeps { linkStore: LinkStore, limits: LinkLimits, publicUrl: string }

export function shareDeps (config: Config, linkStore: LinkStore): ShareDeps {
  return {
    linkStore,
    publicUrl: config.publicUrl,
    limits: { defaultTtl: config.linkDefaultTtl, maxTtl: config.linkMaxTtl, allowActiveInline: config.allowActiveInline }
  }
}

/** Creates a link to `file`; the token exists only in the returned view. */
export async function createShareLink (deps: ShareDeps, file: FileRecord, options: LinkOptions): Promise<{ record: LinkRecord, view: NewLinkView }> {
  const now = Date.now()
  const token = newToken()
  const link: LinkRecord = {
    id: newId(now),
    fileId: file.id,
    owner: file.owner,
    tokenHash: hashToken(token),
    createdAt: now,
    ...await linkTerms(options, deps.limits, file.contentType, now),
    downloads: 0,
    revokedAt: null,
    objectKey: file.key,
    filename: file.filename,
    contentType: file.contentType,
    size: file.size
  }
  if (!await deps.linkStore.createLink(link)) throw notFound('File')
  return { record: link, view: { ...linkView(link, now), token, url: `${deps.publicUrl}/s/${token}` } }
}

/** The caller's file; someone else's is indistinguishable from a missing one. */
export async function ownFile (linkStore: LinkStore, id: string, owner: string): Promise<FileRecord> {
  const file = await linkStore.getFile(id)
  if (file === null || file.owner !== owner) throw notFound('File')
  return file
}

/** The caller's link; someone else's is indistinguishable from a missing one. */
export async function ownLink (linkStore: LinkStore, id: string, owner: string): Promise<LinkRecord> {
  const link = await linkStore.getLink(id)
  if (link === null || link.owner !== owner) throw notFound('Link')
  return link
}
