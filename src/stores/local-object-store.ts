// Embedded ObjectStore: a local directory. Its signed URLs point back at the gateway
// (the /o/ route), signed with HMAC-SHA256 and an expiry, like a presigned S3 URL. The
// type and disposition travel in the signed URL only: the gateway serves the bytes itself,
// always with nosniff, and never without them, so no metadata is kept beside the file.
import { createHmac, randomUUID } from 'node:crypto'
import { constants, createReadStream, createWriteStream } from 'node:fs'
import { access, mkdir, readdir, rename, stat, unlink } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import type { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { contentDisposition } from '../domain/content-disposition.js'
import { sameMac } from '../domain/secrets.js'
import type { ObjectStore, PutOptions, SignedUrlOptions } from './object-store.js'

/** Keys are made by the server (objectKey); anything else is refused before touching the disk. */
const KEY_RE = /^[a-z0-9]+(\/[a-z0-9]+)*$/

export type VerifyResult =
  | { ok: true, key: string, contentType: string, contentDisposition: string }
  | { ok: false, reason: 'bad_signature' | 'expired' }

export class LocalObjectStore implements ObjectStore {
  readonly #dir: string
  readonly #secret: Buffer
  readonly #baseUrl: string

  /** `baseUrl` is where the gateway serves /o/; `secret` signs the URLs. */
  constructor (options: { dir: string, secret: Buffer, baseUrl: string }) {
    this.#dir = options.dir
    this.#secret = options.secret
    this.#baseUrl = options.baseUrl
  }

  #path (key: string): string {
    if (!KEY_RE.test(key)) throw new Error(`invalid object key: ${key}`)
    return join(this.#dir, 'objects', key)
  }

  async put (key: string, body: Readable, { signal }: PutOptions): Promise<void> {
    const final = this.#path(key)
    // Written aside and renamed into place, so a reader never sees a partial object.
    const tmp = join(this.#dir, 'tmp', randomUUID())
    await mkdir(dirname(tmp), { recursive: true })
    await mkdir(dirname(final), { recursive: true })
    try {
      await pipeline(body, createWriteStream(tmp, { flags: 'wx' }), { signal })
      await rename(tmp, final)
    } catch (err) {
      await unlink(tmp).catch(() => {})
      // The reason the caller aborted with, rather than pipeline's generic AbortError.
      throw signal?.aborted === true ? signal.reason : err
    }
  }

  async delete (key: string): Promise<void> {
    await unlink(this.#path(key)).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err
    })
  }

  async exists (key: string): Promise<boolean> {
    return await access(this.#path(key)).then(() => true, () => false)
  }

  async list (prefix: string, limit: number): Promise<string[]> {
    // A prefix is a folder here (`orphans/`): its files, in key order.
    const folder = prefix.replace(/\/$/, '')
    const names = await readdir(this.#path(folder)).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return []
      throw err
    })
    return names.sort().slice(0, limit).map((name) => `${folder}/${name}`)
  }

  #sign (key: string, exp: string, ct: string, cd: string): string {
    return createHmac('sha256', this.#secret).update(`${key}\n${exp}\n${ct}\n${cd}`).digest('base64url')
  }

  async signedUrl (key: string, options: SignedUrlOptions): Promise<string> {
    const exp = String(Math.floor(Date.now() / 1000) + options.expiresIn)
    const cd = contentDisposition(options.filename, options.disposition)
    const query = new URLSearchParams({ exp, ct: options.contentType, cd, sig: this.#sign(key, exp, options.contentType, cd) })
    return `${this.#baseUrl}/o/${key}?${query.toString()}`
  }

  async downloadOrigin (): Promise<string> {
    return new URL(this.#baseUrl).origin
  }

  /** Checks a URL made by signedUrl: signature first (constant time), then expiry. */
  verify (key: string, query: { exp?: string, ct?: string, cd?: string, sig?: string }, now = Date.now()): VerifyResult {
    const { exp = '', ct = '', cd = '', sig = '' } = query
    if (!KEY_RE.test(key) || !sameMac(sig, this.#sign(key, exp, ct, cd))) {
      return { ok: false, reason: 'bad_signature' }
    }
    if (!/^[0-9]+$/.test(exp) || Number(exp) * 1000 <= now) return { ok: false, reason: 'expired' }
    return { ok: true, key, contentType: ct, contentDisposition: cd }
  }

  /** Opens a verified key for reading; null when the object is gone. */
  async open (key: string): Promise<{ size: number, stream: () => Readable } | null> {
    const path = this.#path(key)
    const info = await stat(path).catch(() => null)
    if (info === null || !info.isFile()) return null
    return { size: info.size, stream: () => createReadStream(path) }
  }

  /** Whether files can be written: both directories exist (or are made) and are writable. */
  async ping (): Promise<void> {
    for (const sub of ['objects', 'tmp']) {
      const dir = join(this.#dir, sub)
      await mkdir(dir, { recursive: true })
      await access(dir, constants.W_OK)
    }
  }

  async close (): Promise<void> {}
}
