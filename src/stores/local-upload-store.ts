// Embedded UploadStore: @tus/file-store writing into the local object store's directory
// (DATA_DIR/objects/files/<id>, where the file's object is read from once recorded), and
// each upload's state as a JSON file in DATA_DIR/uploads/, so that a restart loses nothing.
import { FileStore } from '@tus/file-store'
import { ERRORS, type KvStore, type Upload } from '@tus/utils'
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Readable } from 'node:stream'
import { fileIdOf, uploadIdOf, type UploadStore } from './upload-store.js'

/** One JSON file per upload, by file id: a flat directory, so that it can be listed. */
class UploadStateFiles implements KvStore<Upload> {
  readonly #dir: string

  constructor (dir: string) {
    this.#dir = dir
  }

  #path (id: string): string {
    const fileId = fileIdOf(id)
    if (fileId === null) throw ERRORS.FILE_NOT_FOUND
    return join(this.#dir, `${fileId}.json`)
  }

  async get (id: string): Promise<Upload | undefined> {
    return await readFile(this.#path(id), 'utf8').then((json) => JSON.parse(json) as Upload, (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined
      throw err
    })
  }

  async set (id: string, upload: Upload): Promise<void> {
    await mkdir(this.#dir, { recursive: true })
    // Written aside and renamed into place: a reader never sees half of it.
    const path = this.#path(id)
    await writeFile(`${path}.tmp`, JSON.stringify(upload))
    await rename(`${path}.tmp`, path)
  }

  async delete (id: string): Promise<void> {
    await rm(this.#path(id), { force: true })
  }

  async list (): Promise<string[]> {
    const names = await readdir(this.#dir).catch(() => [])
    return names.flatMap((name) => name.endsWith('.json') && fileIdOf(uploadIdOf(name.slice(0, -5))) !== null ? [uploadIdOf(name.slice(0, -5))] : [])
  }
}

export class LocalUploadStore extends FileStore implements UploadStore {
  readonly #state: UploadStateFiles

  /** `dir` is DATA_DIR; `expiry` in milliseconds. */
  constructor ({ dir, expiry }: { dir: string, expiry: number }) {
    const state = new UploadStateFiles(join(dir, 'uploads'))
    super({ directory: join(dir, 'objects'), configstore: state, expirationPeriodInMilliseconds: expiry })
    this.#state = state
  }

  async infoOf (id: string): Promise<Upload | null> {
    return await this.#state.get(id) ?? null
  }

  async open (id: string): Promise<Readable> {
    return this.read(id)
  }

  async forget (id: string): Promise<void> {
    await this.#state.delete(id)
  }

  async expired (now: number): Promise<Upload[]> {
    const uploads = await Promise.all((await this.#state.list()).map(async (id) => await this.#state.get(id)))
    return uploads.filter((upload): upload is Upload => upload !== undefined && new Date(upload.creation_date ?? 0).getTime() + this.getExpiration() <= now)
  }

  /** Removes what is left of the expired uploads, finished or not (the sweeper forgets the recorded ones first). */
  override async deleteExpired (): Promise<number> {
    const expired = await this.expired(Date.now())
    for (const upload of expired) await this.remove(upload.id)
    return expired.length
  }

  /** The state says whether the upload exists; its object goes with it, if there is one. */
  override async remove (id: string): Promise<void> {
    if (await this.#state.get(id) === undefined) throw ERRORS.FILE_NOT_FOUND
    await rm(join(this.directory, id), { force: true })
    await this.#state.delete(id)
  }
}
