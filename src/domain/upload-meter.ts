// Counts and hashes an upload as it streams past, and stops it at the size limit.
import { createHash, type Hash } from 'node:crypto'
import { Transform, type TransformCallback } from 'node:stream'
import { tooLarge } from '../errors.js'

export class UploadMeter extends Transform {
  bytes = 0
  readonly #hash: Hash = createHash('sha256')
  readonly #limit: number

  constructor (limit: number) {
    super()
    this.#limit = limit
  }

  override _transform (chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length
    if (this.bytes > this.#limit) {
      callback(tooLarge(this.#limit))
      return
    }
    this.#hash.update(chunk)
    callback(null, chunk)
  }

  /** Hex SHA-256 of everything that passed; call once, after the stream ended. */
  sha256 (): string {
    return this.#hash.digest('hex')
  }
}
