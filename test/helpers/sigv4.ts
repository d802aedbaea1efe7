// Independent SigV4 query-string (presigned URL) verifier for S3, written from the AWS spec with node:crypto only.
// s3rver accepts any V4 signature, so this is what actually proves the gateway's redirect URLs would work on S3;
// reusing the SDK's signer here would just compare the SDK with itself.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto'

export interface PresignCheck {
  valid: boolean
  reason?: string
  expiresIn: number
  signedAt: Date
  params: URLSearchParams
  accessKeyId: string
  region: string
}

export interface VerifyOptions {
  secretAccessKey: string
  now?: Date
  // Presigned URLs are GETs in Linkgate; overridable so a presigned PUT could be checked too.
  method?: string
}

const ALGORITHM = 'AWS4-HMAC-SHA256'
const MAX_EXPIRES = 604800 // S3 refuses presigned URLs valid for more than 7 days
const MAX_FUTURE_SKEW_MS = 15 * 60 * 1000 // S3 answers "Request is not yet valid" beyond this
const REQUIRED = [
  'X-Amz-Algorithm',
  'X-Amz-Credential',
  'X-Amz-Date',
  'X-Amz-Expires',
  'X-Amz-SignedHeaders',
  'X-Amz-Signature'
] as const

// RFC 3986 unreserved set only; encodeURIComponent alone leaves !'()* bare, which SigV4 does not.
export function uriEncode (value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase())
}

function sha256Hex (data: string): string {
  return createHash('sha256').update(data, 'utf8').digest('hex')
}

function hmac (key: Buffer | string, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest()
}

function parseAmzDate (value: string): Date {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value)
  if (m === null) return new Date(NaN)
  const [, y, mo, d, h, mi, s] = m.map(Number) as [number, number, number, number, number, number, number]
  const date = new Date(Date.UTC(y, mo - 1, d, h, mi, s))
  // Date.UTC silently rolls 20240231 over into March; a signer would never produce that.
  if (date.getUTCFullYear() !== y || date.getUTCMonth() !== mo - 1 || date.getUTCDate() !== d ||
    date.getUTCHours() !== h || date.getUTCMinutes() !== mi || date.getUTCSeconds() !== s) {
    return new Date(NaN)
  }
  return date
}

// URLSearchParams would turn '+' into a space; S3 SigV4 signers always send %20, so a bare '+' is taken
// literally here and a URL re-serialised as form data (spaces -> '+') fails verification, as it should.
function parseRawQuery (search: string): Array<[string, string]> {
  const raw = search.startsWith('?') ? search.slice(1) : search
  if (raw === '') return []
  return raw.split('&').filter((part) => part !== '').map((part) => {
    const eq = part.indexOf('=')
    const name = eq === -1 ? part : part.slice(0, eq)
    const value = eq === -1 ? '' : part.slice(eq + 1)
    return [decodeURIComponent(name), decodeURIComponent(value)]
  })
}

function compareCodeUnits (a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

export function canonicalQueryString (pairs: Array<[string, string]>): string {
  return pairs
    .filter(([name]) => name !== 'X-Amz-Signature')
    .map(([name, value]) => [uriEncode(name), uriEncode(value)] as const)
    .sort((a, b) => compareCodeUnits(a[0], b[0]) || compareCodeUnits(a[1], b[1]))
    .map(([name, value]) => `${name}=${value}`)
    .join('&')
}

export function verifyPresignedUrl (url: string, opts: VerifyOptions): PresignCheck {
  const now = opts.now ?? new Date()
  const method = (opts.method ?? 'GET').toUpperCase()
  const result: PresignCheck = {
    valid: false,
    expiresIn: NaN,
    signedAt: new Date(NaN),
    params: new URLSearchParams(),
    accessKeyId: '',
    region: ''
  }
  const fail = (reason: string): PresignCheck => Object.assign(result, { valid: false, reason })

  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return fail(`not a URL: ${url}`)
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    return fail(`unsupported protocol ${parsed.protocol}`)
  }

  let pairs: Array<[string, string]>
  try {
    pairs = parseRawQuery(parsed.search)
  } catch {
    return fail('query string contains malformed percent-encoding')
  }
  result.params = new URLSearchParams(pairs)

  const single = new Map<string, string>()
  for (const name of REQUIRED) {
    const values = pairs.filter(([n]) => n === name)
    if (values.length === 0) return fail(`missing ${name} query parameter`)
    if (values.length > 1) return fail(`${name} appears ${values.length} times`)
    single.set(name, values[0]![1])
  }
  const get = (name: typeof REQUIRED[number]): string => single.get(name)!

  const algorithm = get('X-Amz-Algorithm')
  if (algorithm !== ALGORITHM) return fail(`X-Amz-Algorithm is ${JSON.stringify(algorithm)}, expected ${ALGORITHM}`)

  const amzDate = get('X-Amz-Date')
  const signedAt = parseAmzDate(amzDate)
  if (Number.isNaN(signedAt.getTime())) {
    return fail(`X-Amz-Date ${JSON.stringify(amzDate)} is not a valid YYYYMMDDTHHMMSSZ timestamp`)
  }
  result.signedAt = signedAt

  const expiresRaw = get('X-Amz-Expires')
  if (!/^\d+$/.test(expiresRaw)) return fail(`X-Amz-Expires ${JSON.stringify(expiresRaw)} is not a whole number of seconds`)
  const expiresIn = Number(expiresRaw)
  result.expiresIn = expiresIn
  if (expiresIn < 1 || expiresIn > MAX_EXPIRES) {
    return fail(`X-Amz-Expires ${expiresIn} is outside 1..${MAX_EXPIRES} seconds`)
  }

  const credential = get('X-Amz-Credential')
  const scopeParts = credential.split('/')
  if (scopeParts.length !== 5) {
    return fail(`X-Amz-Credential ${JSON.stringify(credential)} is not <akid>/<yyyymmdd>/<region>/s3/aws4_request`)
  }
  const [accessKeyId, scopeDate, region, service, terminator] = scopeParts as [string, string, string, string, string]
  result.accessKeyId = accessKeyId
  result.region = region
  if (accessKeyId === '') return fail('X-Amz-Credential has an empty access key id')
  if (!/^\d{8}$/.test(scopeDate)) return fail(`credential scope date ${JSON.stringify(scopeDate)} is not yyyymmdd`)
  if (scopeDate !== amzDate.slice(0, 8)) {
    return fail(`credential scope date ${scopeDate} does not match X-Amz-Date ${amzDate}`)
  }
  if (region === '') return fail('credential scope has an empty region')
  if (service !== 's3') return fail(`credential scope service is ${JSON.stringify(service)}, expected "s3"`)
  if (terminator !== 'aws4_request') {
    return fail(`credential scope ends in ${JSON.stringify(terminator)}, expected "aws4_request"`)
  }

  const signedHeaders = get('X-Amz-SignedHeaders')
  const headerNames = signedHeaders.split(';')
  if (!headerNames.includes('host')) return fail(`X-Amz-SignedHeaders ${JSON.stringify(signedHeaders)} does not include host`)
  const underivable = headerNames.filter((h) => h !== 'host')
  if (underivable.length > 0) {
    // A browser following a 302 sends none of these, so such a URL could never be used by a share-link client.
    return fail(`X-Amz-SignedHeaders includes ${underivable.join(', ')}: only host can be derived from a URL`)
  }

  const signature = get('X-Amz-Signature')
  if (!/^[0-9a-f]{64}$/.test(signature)) return fail('X-Amz-Signature is not 64 lowercase hex digits')

  const contentSha = pairs.find(([n]) => n === 'X-Amz-Content-Sha256')?.[1]
  const payloadHash = contentSha ?? 'UNSIGNED-PAYLOAD'
  // S3 takes the path exactly as sent (already encoded once): no normalisation, no double encoding.
  // URL#pathname is what fetch/undici would put on the wire for this string.
  const canonicalUri = parsed.pathname === '' ? '/' : parsed.pathname
  // URL#host already omits a default port and lowercases the hostname, matching what a client sends as Host.
  const canonicalHeaders = `host:${parsed.host}\n`
  const canonicalRequest = [
    method,
    canonicalUri,
    canonicalQueryString(pairs),
    canonicalHeaders,
    signedHeaders,
    payloadHash
  ].join('\n')

  const scope = `${scopeDate}/${region}/${service}/${terminator}`
  const stringToSign = [ALGORITHM, amzDate, scope, sha256Hex(canonicalRequest)].join('\n')
  const kDate = hmac('AWS4' + opts.secretAccessKey, scopeDate)
  const kRegion = hmac(kDate, region)
  const kService = hmac(kRegion, service)
  const kSigning = hmac(kService, terminator)
  const expected = hmac(kSigning, stringToSign)
  if (!timingSafeEqual(expected, Buffer.from(signature, 'hex'))) {
    return fail(`signature mismatch; canonical request was:\n${canonicalRequest}`)
  }

  const nowMs = now.getTime()
  if (signedAt.getTime() - nowMs > MAX_FUTURE_SKEW_MS) {
    return fail(`signed at ${signedAt.toISOString()}, more than 15 minutes after now (${now.toISOString()})`)
  }
  const expiresAt = signedAt.getTime() + expiresIn * 1000
  if (!(nowMs < expiresAt)) {
    return fail(`expired at ${new Date(expiresAt).toISOString()} (now ${now.toISOString()})`)
  }

  result.valid = true
  return result
}
