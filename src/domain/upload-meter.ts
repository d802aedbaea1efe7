// Counts and hashes an upload as it streams past, and stops it at the size limit, or where
// `admit` refuses (a quota).
import { createHash, type Hash } from 'node:crypto'
import { Transform, type TransformCallback } from 'node:stream'
import { tooLarge } from '../errors.js'

/**
 * Asked with the byte count so far, chunk by chunk: undefined lets the chunk through at once;
 * a promise holds it until it resolves, or fails the upload with its rejection.
 */
export type Admit = (total: number) => Promise<void> | undefined

export class UploadMeter extends Transform {
  bytes = 0
  readonly #hash: Hash = createHash('sha256')
  readonly #limit: number
  readonly #admit: Admit | undefined

  constructor (limit: number, admit?: Admit) {
    super()
    this.#limit = limit
    this.#admit = admit
  }

  override _transform (chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length
    if (this.bytes > this.#limit) {
      callback(tooLarge(this.#limit))
      return
    }
    const waiting = this.#admit?.(this.bytes)
    if (waiting === undefined) this.#pass(chunk, callback)
    else waiting.then(() => { this.#pass(chunk, callback) }, callback)
  }

  #pass (chunk: Buffer, callback: TransformCallback): void {
    this.#hash.update(chunk)
    callback(null, chunk)
  }

  /** Hex SHA-256 of everything that passed; call once, after the stream ended. */
  sha256 (): string {
    return this.#hash.digest('hex')
  }
}
