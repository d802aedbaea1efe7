// Minting share links and shaping files and links for the API. No Fastify here.
import { newId } from './domain/ids.js'
import { linkLifetime, type LinkLimits, type LinkOptions } from './domain/link-policy.js'
import { hashToken, newToken } from './domain/tokens.js'
import { notFound } from './errors.js'
import { linkStatus, type LinkStatus, type FileRecord, type LinkRecord, type LinkStore } from './stores/link-store.js'

const iso = (ms: number): string => new Date(ms).toISOString()

export type FileView = Omit<FileRecord, 'owner' | 'key' | 'createdAt'> & { createdAt: string }

export interface LinkView {
  id: string
  fileId: string
  createdAt: string
  expiresAt: string
  maxDownloads: number | null
  downloads: number
  status: LinkStatus
  revokedAt: string | null
}

export function fileView (file: FileRecord): FileView {
  const { id, filename, size, contentType, sha256, createdAt } = file
  return { id, filename, size, contentType, sha256, createdAt: iso(createdAt) }
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
    revokedAt: link.revokedAt === null ? null : iso(link.revokedAt)
  }
}

export interface ShareDeps { linkStore: LinkStore, limits: LinkLimits, publicUrl: string }

/** Creates a link to `file`; the token exists only in the returned value. */
export async function createShareLink (deps: ShareDeps, file: FileRecord, options: LinkOptions): Promise<LinkView & { token: string, url: string }> {
  const now = Date.now()
  const token = newToken()
  const link: LinkRecord = {
    id: newId(now),
    fileId: file.id,
    owner: file.owner,
    tokenHash: hashToken(token),
    createdAt: now,
    ...linkLifetime(options, deps.limits, now),
    downloads: 0,
    revokedAt: null,
    objectKey: file.key,
    filename: file.filename,
    contentType: file.contentType,
    size: file.size
  }
  if (!await deps.linkStore.createLink(link)) throw notFound('File')
  return { ...linkView(link, now), token, url: `${deps.publicUrl}/s/${token}` }
}
