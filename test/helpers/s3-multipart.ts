// s3rver keeps multipart uploads (CreateMultipartUpload, UploadPart, CompleteMultipartUpload)
// but has no ListParts, ListMultipartUploads or AbortMultipartUpload: it answers 405 or 501.
// @tus/s3-store needs all three (an upload's offset is the sum of its parts; expired uploads
// are found by listing and aborted), so the test server gets them here, over the wire, read
// from and done to s3rver's own upload directories (<dir>/<bucket>/._S3rver_uploads/<id>/:
// `key`, and `<n>` and `<n>.md5` per part). Signatures are not checked on these three.
import { readdir, readFile, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import type S3rver from 's3rver'

type Context = Parameters<S3rver['middleware'][number]>[0]

const escape = (text: string): string => text.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`)
const xml = (root: string, inner: string): string =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<${root} xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${inner}</${root}>`

function noSuchUpload (ctx: Context, uploadId: string): void {
  ctx.status = 404
  ctx.type = 'application/xml'
  ctx.body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>NoSuchUpload</Code><Message>The specified upload does not exist: ${escape(uploadId)}</Message></Error>`
}

/** Adds ListParts, ListMultipartUploads and AbortMultipartUpload to `server` (before run()). */
export function addMultipartListing (server: S3rver, directory: string, bucket: string): void {
  const uploadsDir = join(directory, bucket, '._S3rver_uploads')
  const uploadDir = (uploadId: string): string | null => /^[0-9a-f]+$/.test(uploadId) ? join(uploadsDir, uploadId) : null

  async function listParts (ctx: Context, key: string, uploadId: string): Promise<void> {
    const dir = uploadDir(uploadId)
    const names = dir === null ? null : await readdir(dir).catch(() => null)
    if (dir === null || names === null) return noSuchUpload(ctx, uploadId)
    // A part is listed once it is whole: s3rver writes its .md5 last.
    const parts = await Promise.all(names.filter((n) => /^[0-9]+$/.test(n) && names.includes(`${n}.md5`)).map(Number).sort((a, b) => a - b).map(async (n) => {
      const [info, md5] = await Promise.all([stat(join(dir, String(n))), readFile(join(dir, `${n}.md5`), 'utf8')])
      return `<Part><PartNumber>${n}</PartNumber><LastModified>${info.mtime.toISOString()}</LastModified><ETag>&quot;${md5}&quot;</ETag><Size>${info.size}</Size></Part>`
    }))
    ctx.type = 'application/xml'
    ctx.body = xml('ListPartsResult', `<Bucket>${bucket}</Bucket><Key>${escape(key)}</Key><UploadId>${uploadId}</UploadId><IsTruncated>false</IsTruncated>${parts.join('')}`)
  }

  async function listUploads (ctx: Context, prefix: string): Promise<void> {
    const ids = await readdir(uploadsDir).catch(() => [])
    const uploads = await Promise.all(ids.map(async (id) => {
      const key = await readFile(join(uploadsDir, id, 'key'), 'utf8').catch(() => null)
      const initiated = await stat(join(uploadsDir, id, 'key')).then((s) => s.mtime, () => null)
      return key === null || initiated === null || !key.startsWith(prefix) ? '' : `<Upload><Key>${escape(key)}</Key><UploadId>${id}</UploadId><Initiated>${initiated.toISOString()}</Initiated></Upload>`
    }))
    ctx.type = 'application/xml'
    ctx.body = xml('ListMultipartUploadsResult', `<Bucket>${bucket}</Bucket><Prefix>${escape(prefix)}</Prefix><IsTruncated>false</IsTruncated>${uploads.join('')}`)
  }

  async function abort (ctx: Context, uploadId: string): Promise<void> {
    const dir = uploadDir(uploadId)
    if (dir === null || await stat(dir).then(() => false, () => true)) return noSuchUpload(ctx, uploadId)
    await rm(dir, { recursive: true, force: true })
    ctx.status = 204
  }

  server.middleware.unshift(async (ctx, next) => {
    const [, first, ...rest] = ctx.path.split('/')
    const key = rest.map(decodeURIComponent).join('/')
    const uploadId = typeof ctx.query.uploadId === 'string' ? ctx.query.uploadId : undefined
    if (first !== bucket) return await next()
    if (ctx.method === 'GET' && key === '' && ctx.query.uploads !== undefined) return await listUploads(ctx, typeof ctx.query.prefix === 'string' ? ctx.query.prefix : '')
    if (key !== '' && uploadId !== undefined && ctx.method === 'GET') return await listParts(ctx, key, uploadId)
    if (key !== '' && uploadId !== undefined && ctx.method === 'DELETE') return await abort(ctx, uploadId)
    await next()
  })
}
