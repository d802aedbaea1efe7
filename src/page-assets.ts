// The static files of the owner's page: its script and style (src/assets/) and
// tus-js-client's prebuilt browser build, served from the gateway's own origin (no CDN) under
// names that carry a hash of their bytes, so that they can be cached for a year: a new
// version is a new URL. Read once, at start; compressed on first use.
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { brotliCompress, constants, gzip } from 'node:zlib'

export const ENCODINGS = ['br', 'gzip'] as const
export type Encoding = typeof ENCODINGS[number]

export interface Asset {
  /** Its URL path: /assets/<name>.<first 16 hex digits of its SHA-256>.<extension>. */
  path: string
  contentType: string
  /** A strong ETag: the SHA-256 of its bytes. */
  etag: string
  body: Buffer
  /** Its bytes in `encoding`, compressed once (off the event loop) and kept. */
  encoded: (encoding: Encoding) => Promise<Buffer>
}

/** The assets by their logical name (what a page names), and by their URL path (what the route serves). */
export interface Assets {
  byName: ReadonlyMap<AssetName, Asset>
  byPath: ReadonlyMap<string, Asset>
}

export type AssetName = 'owner.js' | 'owner.css' | 'tus.min.js'

const TYPES = { js: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8' } as const

const brotli = promisify(brotliCompress)
const gzipped = promisify(gzip)

function compress (body: Buffer, encoding: Encoding): Promise<Buffer> {
  return encoding === 'br'
    ? brotli(body, { params: { [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY, [constants.BROTLI_PARAM_SIZE_HINT]: body.length } })
    : gzipped(body, { level: constants.Z_BEST_COMPRESSION })
}

function asset (name: AssetName, file: string): Asset {
  const body = readFileSync(file)
  const hash = createHash('sha256').update(body).digest('hex')
  const dot = name.indexOf('.')
  const extension = name.slice(name.lastIndexOf('.') + 1) as keyof typeof TYPES
  const cache = new Map<Encoding, Promise<Buffer>>()
  return {
    path: `/assets/${name.slice(0, dot)}.${hash.slice(0, 16)}${name.slice(dot)}`,
    contentType: TYPES[extension],
    etag: `"${hash}"`,
    body,
    encoded (encoding) {
      let bytes = cache.get(encoding)
      if (bytes === undefined) {
        bytes = compress(body, encoding)
        cache.set(encoding, bytes)
      }
      return bytes
    }
  }
}

let loaded: Assets | null = null

/**
 * The assets, read on the first call. src/assets/ sits beside this module (the build
 * copies it to dist/src/assets/); tus-js-client's browser build is its package's own file.
 */
export function loadAssets (): Assets {
  if (loaded !== null) return loaded
  const own = (name: string): string => fileURLToPath(new URL(`./assets/${name}`, import.meta.url))
  const sources: Array<[AssetName, string]> = [
    ['tus.min.js', createRequire(import.meta.url).resolve('tus-js-client/dist/tus.min.js')],
    ['owner.js', own('owner.js')],
    ['owner.css', own('owner.css')]
  ]
  const list = sources.map(([name, file]) => [name, asset(name, file)] as const)
  loaded = { byName: new Map(list), byPath: new Map(list.map(([, a]) => [a.path, a])) }
  return loaded
}
