// File and link records as the stores hold them, for tests that write to a store directly.
import { newId } from '../../src/domain/ids.js'
import { hashToken, newToken } from '../../src/domain/tokens.js'
import type { FileRecord, LinkRecord } from '../../src/stores/link-store.js'

/** A file record (no object behind it unless the test puts one there). */
export function file (owner = 'alice', over: Partial<FileRecord> = {}): FileRecord {
  const id = newId()
  return { id, owner, key: `files/${id}`, filename: 'report é.pdf', size: 42, contentType: 'application/pdf', sha256: 'ab'.repeat(32), createdAt: Date.now(), expiresAt: null, ...over }
}

/** A public, unlimited link to `f`, valid for an hour, and its token. */
export function link (f: FileRecord, over: Partial<LinkRecord> = {}): { record: LinkRecord, token: string } {
  const token = newToken()
  const now = Date.now()
  return {
    token,
    record: {
      id: newId(),
      fileId: f.id,
      owner: f.owner,
      tokenHash: hashToken(token),
      createdAt: now,
      expiresAt: now + 3600_000,
      maxDownloads: null,
      downloads: 0,
      revokedAt: null,
      access: 'public',
      passwordHash: null,
      disposition: 'attachment',
      objectKey: f.key,
      filename: f.filename,
      contentType: f.contentType,
      size: f.size,
      ...over
    }
  }
}
