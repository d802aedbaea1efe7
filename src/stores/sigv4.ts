// SigV4 query-string signing of S3 GETs, with the day's signing key cached:
// docs/decisions/0001-hand-written-sigv4-presigner.md
// Spec: https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html
import { createHmac, hash } from 'node:crypto'

export interface SigningCredentials {
  accessKeyId: string
  secretAccessKey: string
  sessionToken?: string | undefined
}

export interface PresignRequest {
  /** `host[:port]`, exactly as the client will send it. */
  host: string
  /** The path, already URI-encoded (each segment with escapeUri). */
  path: string
  /** Query parameters to sign along (unencoded). */
  query: Record<string, string>
  /** Seconds, 1 to 604800. */
  expiresIn: number
  /** Signing time (ms); now by default. */
  now?: number
}

const ALGORITHM = 'AWS4-HMAC-SHA256'
/** What encodeURIComponent leaves bare and RFC 3986 reserves. */
const RESERVED_BY_3986 = /[!'()*]/
const RESERVED_BY_3986_ALL = /[!'()*]/g

/** RFC 3986 percent-encoding, as SigV4 canonicalises query strings and paths. */
export function escapeUri (value: string): string {
  const encoded = encodeURIComponent(value)
  return RESERVED_BY_3986.test(encoded) ? encoded.replace(RESERVED_BY_3986_ALL, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase()) : encoded
}

const hmac = (key: Buffer | string, data: string): Buffer => createHmac('sha256', key).update(data).digest()

/** `20261128T173512Z` */
const amzDate = (ms: number): string => new Date(ms).toISOString().replace(/[-:]|\.\d{3}/g, '')

export class S3GetPresigner {
  readonly #region: string
  /** The last signing key: it depends only on the secret, the day and the region. */
  #cached: { secret: string, day: string, key: Buffer } | undefined

  constructor (region: string) {
    this.#region = region
  }

  #signingKey (secret: string, day: string): Buffer {
    const cached = this.#cached
    if (cached?.secret === secret && cached.day === day) return cached.key
    const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, day), this.#region), 's3'), 'aws4_request')
    this.#cached = { secret, day, key }
    return key
  }

  /** The signed query string (without `?`) that makes `GET <path>` on `host` valid for `expiresIn` seconds. */
  presign (credentials: SigningCredentials, request: PresignRequest): string {
    const now = request.now ?? Date.now()
    const time = amzDate(now)
    const day = time.slice(0, 8)
    const scope = `${day}/${this.#region}/s3/aws4_request`
    const params: Array<[string, string]> = [
      ['X-Amz-Algorithm', ALGORITHM],
      ['X-Amz-Content-Sha256', 'UNSIGNED-PAYLOAD'],
      ['X-Amz-Credential', `${credentials.accessKeyId}/${scope}`],
      ['X-Amz-Date', time],
      ['X-Amz-Expires', String(request.expiresIn)],
      ['X-Amz-SignedHeaders', 'host']
    ]
    if (credentials.sessionToken !== undefined) params.push(['X-Amz-Security-Token', credentials.sessionToken])
    for (const name in request.query) params.push([escapeUri(name), request.query[name] as string])
    // Canonical order: by encoded name, in code units.
    params.sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0)
    let query = ''
    for (const [name, value] of params) query += `${query === '' ? '' : '&'}${name}=${escapeUri(value)}`
    const canonicalRequest = `GET\n${request.path}\n${query}\nhost:${request.host}\n\nhost\nUNSIGNED-PAYLOAD`
    const stringToSign = `${ALGORITHM}\n${time}\n${scope}\n${hash('sha256', canonicalRequest, 'hex')}`
    const signature = createHmac('sha256', this.#signingKey(credentials.secretAccessKey, day)).update(stringToSign).digest('hex')
    return `${query}&X-Amz-Signature=${signature}`
  }
}
