// A real tus client (tus-js-client, as in Node) for the tests: an upload run to its end, and
// an interruption (a cut socket, a killed server) once a given number of bytes is sent.
import { Upload, type HttpRequest, type HttpResponse, type UploadOptions } from 'tus-js-client'
import { withTimeout } from './wait.js'

export interface TusOutcome { url: string, response: HttpResponse }

/** What tusUpload rejects with: the client's error, and the upload's URL to resume with. */
export type TusFailure = Error & { url?: string | null }

/**
 * Runs a tus-js-client upload of `data` to its end (no automatic retries): resolves with the
 * upload URL and the last response, rejects with the client's error. `onPatch` sees each
 * PATCH request as it starts.
 */
export async function tusUpload (data: Buffer, options: UploadOptions & { onPatch?: (req: HttpRequest) => void }, timeoutMs = 120_000): Promise<TusOutcome> {
  const { onPatch, ...rest } = options
  return await withTimeout('the tus upload', new Promise<TusOutcome>((resolve, reject) => {
    const upload: Upload = new Upload(data, {
      retryDelays: null,
      ...rest,
      onBeforeRequest: (req) => { if (req.getMethod() === 'PATCH') onPatch?.(req) },
      onSuccess: ({ lastResponse }) => { resolve({ url: upload.url ?? '', response: lastResponse }) },
      onError: (err) => { reject(Object.assign(err, { url: upload.url })) }
    })
    upload.start()
  }), timeoutMs)
}

export interface Interruption {
  onPatch: (req: HttpRequest) => void
  onProgress: (sent: number) => void
  /** Whether it happened. */
  happened: () => boolean
}

/** Options for tusUpload that call `interrupt` once, with the PATCH under way, when `at` bytes are sent. */
export function interruptAt (at: number, interrupt: (patch: HttpRequest | undefined) => void): Interruption {
  let patch: HttpRequest | undefined
  let done = false
  return {
    onPatch: (req) => { patch = req },
    onProgress: (sent) => {
      if (done || sent < at) return
      done = true
      interrupt(patch)
    },
    happened: () => done
  }
}

/** Destroys the socket of a PATCH under way: the connection is cut, as by a network. */
export function cutSocket (patch: HttpRequest | undefined): void {
  (patch?.getUnderlyingObject() as { socket?: { destroy: () => void } } | undefined)?.socket?.destroy()
}
