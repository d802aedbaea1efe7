// Configuration comes from the environment only, validated once at start.
import { randomBytes } from 'node:crypto'
import { Ajv } from 'ajv'
import ipaddr from 'ipaddr.js'

export type ChecksumMode = 'WHEN_REQUIRED' | 'WHEN_SUPPORTED'

export interface Config {
  host: string
  port: number
  publicUrl: string
  logLevel: string
  redis: RedisConfig | null
  s3: {
    bucket: string
    endpoint: string | undefined
    /** Where presigned URLs send clients, when they cannot use `endpoint` (S3_PUBLIC_ENDPOINT). */
    publicEndpoint: string | undefined
    region: string | undefined
    forcePathStyle: boolean
    checksums: ChecksumMode
    /** Seconds a request to S3 may stay silent before it fails (and is retried). */
    idleTimeout: number
  } | null
  dataDir: string
  /**
   * The gateway's own secret: HS256 bearer tokens are signed with it (when acceptHs256), and
   * the keys of download forms and local object URLs are derived from it. JWT_SECRET, else
   * the first SESSION_SECRET, else (embedded mode) generated.
   */
  jwtSecret: string
  /** True when no secret was given and an ephemeral one was made for the embedded mode. */
  jwtSecretGenerated: boolean
  /** Whether HS256 bearer tokens signed with jwtSecret are accepted: JWT_SECRET is set, or nothing else authenticates. */
  acceptHs256: boolean
  /** The organisation's OpenID Provider (OIDC_ISSUER); null: none. */
  oidc: OidcConfig | null
  /** The browser session cookie; null: no browser sign-in. */
  session: SessionConfig | null
  signedUrlTtl: number
  maxUploadBytes: number
  linkDefaultTtl: number
  linkMaxTtl: number
  /** Let links serve any type inline, even those that could run script on the storage origin. */
  allowActiveInline: boolean
  /** Audit log file; null: stdout, beside the application log. */
  auditLog: string | null
  /** Fastify's trustProxy: false, true, a hop count, or addresses/CIDRs. */
  trustProxy: boolean | number | string[]
  limits: {
    /** Redemptions (/s/*) per client IP per minute. */
    redeemPerMinute: number
    /** Misses (unknown or expired tokens, wrong passwords) per client IP per 10 minutes. */
    redeemMisses: number
    /** Uploads per user (JWT sub) per minute. */
    uploadPerMinute: number
    /** Other API calls per user per minute, all /v1 routes but uploads together. */
    apiPerMinute: number
    /** Failed authentications per client IP per 10 minutes; over it, 429. */
    authFailures: number
    /** Uploads one user may have in progress at once, across instances. */
    uploadConcurrency: number
    /** Link password checks (scrypt) running at once in this process (half of them at most for one link). */
    passwordChecks: number
    /** When the rate-limit store fails: false answers 503 (closed), true lets requests through. */
    failOpen: boolean
  }
  /** Bearer token /metrics requires; null: open. */
  metricsToken: string | null
  /** Seconds in-flight requests get to finish on SIGTERM before they are aborted. */
  shutdownGrace: number
  /** The longest retention (seconds) an upload may ask for; null: no limit. */
  fileMaxRetention: number | null
  /** Seconds between two runs of the retention sweeper. */
  sweepInterval: number
  /** Seconds a connection may be silent (no bytes either way) before it is closed. */
  idleTimeout: number
  /** Seconds a request body that is not an upload may take to arrive in full (then 408). */
  bodyTimeout: number
}

export interface OidcConfig {
  issuer: string
  /** What the `aud` of a provider's token must contain (JWT_AUDIENCE). */
  audience: string
  /** The claim that names the user (USER_CLAIM) and the one that lists their groups (GROUPS_CLAIM). */
  userClaim: string
  groupsClaim: string
  /** Seconds between two fetches of the provider's keys for an unknown `kid`. */
  jwksCooldown: number
  /** Browser sign-in (Authorization Code with PKCE); null: bearer tokens only. */
  signIn: { clientId: string, clientSecret: string | null, scopes: string } | null
}

export interface SessionConfig {
  /** The first seals new cookies; all of them open cookies (rotation). */
  secrets: string[]
  /** Absolute lifetime of a session, in seconds. */
  ttl: number
}

export interface RedisNode { host: string, port: number }

/**
 * One Redis topology; every key is under keyPrefix. With sentinels or a cluster, `url`
 * (REDIS_URL, optional) carries only the data nodes' credentials, database and TLS
 * (`rediss:`): its host is not used.
 */
export type RedisConfig =
  | { topology: 'single', url: string, keyPrefix: string }
  | { topology: 'sentinel', sentinels: RedisNode[], name: string, url: string | null, keyPrefix: string }
  | { topology: 'cluster', nodes: RedisNode[], url: string | null, keyPrefix: string }

export class ConfigError extends Error {}

const SIZE = '^[0-9]+(\\.[0-9]+)?\\s*([KMGT]i?B|B)?$'
const SECONDS = { type: 'integer', minimum: 1, maximum: 31_536_000 * 10 }
const HTTP_URL = '^https?://[^/?#]+(/[^?#]*)?$'
const CLAIM = '^[A-Za-z0-9_.:/-]{1,128}$'

// `expected` says in words, with an example, what a pattern admits: error messages quote
// it, never the pattern. Enums, booleans and integers are described from the schema
// (`example`, or else the default, is the example).
const schema = {
  type: 'object',
  properties: {
    HOST: { type: 'string', default: '0.0.0.0' },
    PORT: { type: 'integer', minimum: 0, maximum: 65535, default: 3000 },
    PUBLIC_URL: { type: 'string', pattern: HTTP_URL, expected: 'an http or https URL with no query or fragment, e.g. https://files.example.com' },
    LOG_LEVEL: { enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], default: 'info' },
    REDIS_URL: { type: 'string', pattern: '^rediss?://', expected: 'a redis:// or rediss:// URL, e.g. redis://localhost:6379/0' },
    REDIS_KEY_PREFIX: { type: 'string', pattern: '^[A-Za-z0-9:_.-]{0,64}$', default: 'lg:', expected: 'up to 64 letters, digits, colons, dots, dashes or underscores, e.g. lg:' },
    REDIS_SENTINELS: { type: 'string' },
    REDIS_SENTINEL_NAME: { type: 'string', pattern: '^[A-Za-z0-9._-]{1,128}$', expected: 'a name of up to 128 letters, digits, dots, dashes or underscores, e.g. mymaster' },
    REDIS_CLUSTER_NODES: { type: 'string' },
    S3_BUCKET: { type: 'string', pattern: '^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$', expected: 'a bucket name: 3 to 63 lower-case letters, digits, dots or dashes, beginning and ending with a letter or digit, e.g. my-files' },
    S3_ENDPOINT: { type: 'string', pattern: '^https?://', expected: 'the http or https URL the gateway reaches the store at, e.g. http://minio:9000' },
    S3_PUBLIC_ENDPOINT: { type: 'string', pattern: HTTP_URL, expected: 'the origin clients reach the store at (http or https, host and port, no path), e.g. http://localhost:9000' },
    S3_REGION: { type: 'string', pattern: '^[a-z0-9-]+$', expected: 'a region name of lower-case letters, digits and dashes, e.g. eu-west-1' },
    S3_FORCE_PATH_STYLE: { type: 'boolean', default: false },
    S3_CHECKSUMS: { enum: ['WHEN_REQUIRED', 'WHEN_SUPPORTED'] },
    S3_IDLE_TIMEOUT: { type: 'integer', minimum: 1, maximum: 3600, default: 10 },
    DATA_DIR: { type: 'string', default: './data' },
    JWT_SECRET: { type: 'string', minLength: 32, expected: 'at least 32 characters, e.g. the output of openssl rand -base64 48' },
    OIDC_ISSUER: { type: 'string', pattern: HTTP_URL, expected: 'the issuer URL of an OpenID Provider (https, or http on localhost), e.g. https://keycloak.example.com/realms/acme' },
    JWT_AUDIENCE: { type: 'string', minLength: 1, maxLength: 512, example: 'linkgate' },
    USER_CLAIM: { type: 'string', pattern: CLAIM, default: 'sub', expected: 'a claim name of letters, digits, dots, colons, slashes, dashes or underscores, e.g. sub' },
    GROUPS_CLAIM: { type: 'string', pattern: CLAIM, default: 'groups', expected: 'a claim name of letters, digits, dots, colons, slashes, dashes or underscores, e.g. groups' },
    OIDC_CLIENT_ID: { type: 'string', minLength: 1, maxLength: 512, example: 'linkgate' },
    OIDC_CLIENT_SECRET: { type: 'string', minLength: 1, maxLength: 1024, example: 'the client secret the provider shows' },
    OIDC_SCOPES: { type: 'string', pattern: '^openid( [A-Za-z0-9_.:/-]+)*$', default: 'openid email profile', expected: 'space-separated scopes beginning with openid, e.g. openid email profile' },
    OIDC_JWKS_COOLDOWN: { type: 'integer', minimum: 1, maximum: 3600, default: 30 },
    SESSION_SECRET: { type: 'string', pattern: '^[^,]{32,}(,[^,]{32,})*$', expected: 'at least 32 characters (e.g. the output of openssl rand -hex 32), or a comma list of such secrets to rotate: the first seals, all open' },
    SESSION_TTL: { type: 'integer', minimum: 60, maximum: 30 * 86_400, default: 8 * 3600 },
    SIGNED_URL_TTL: { type: 'integer', minimum: 1, maximum: 604_800, default: 60 },
    MAX_UPLOAD_BYTES: { type: 'string', pattern: SIZE, default: '10GiB', expected: 'a number of bytes, optionally with a unit (B, KB, MB, GB, TB, KiB, MiB, GiB or TiB), e.g. 10GiB, 500MB or 1048576' },
    LINK_DEFAULT_TTL: { ...SECONDS, default: 7 * 86_400 },
    LINK_MAX_TTL: { ...SECONDS, default: 30 * 86_400 },
    ALLOW_ACTIVE_INLINE: { type: 'boolean', default: false },
    AUDIT_LOG: { type: 'string' },
    TRUST_PROXY: {
      type: 'string',
      pattern: '^(true|false|[0-9]{1,2}|[0-9a-fA-F.:/]+(\\s*,\\s*[0-9a-fA-F.:/]+)*)$',
      expected: 'true, false, the number of proxies in front (e.g. 1), or a comma list of their addresses and CIDRs (e.g. 10.0.0.0/8, 192.168.1.10)'
    },
    REDEEM_RATE_LIMIT: { type: 'integer', minimum: 1, maximum: 1_000_000_000, default: 60 },
    REDEEM_MISS_LIMIT: { type: 'integer', minimum: 1, maximum: 1_000_000_000, default: 20 },
    UPLOAD_RATE_LIMIT: { type: 'integer', minimum: 1, maximum: 1_000_000_000, default: 30 },
    API_RATE_LIMIT: { type: 'integer', minimum: 1, maximum: 1_000_000_000, default: 300 },
    AUTH_FAILURE_LIMIT: { type: 'integer', minimum: 1, maximum: 1_000_000_000, default: 30 },
    UPLOAD_CONCURRENCY: { type: 'integer', minimum: 1, maximum: 10_000, default: 4 },
    PASSWORD_CHECK_CONCURRENCY: { type: 'integer', minimum: 1, maximum: 64, default: 2 },
    RATE_LIMIT_FAIL_OPEN: { type: 'boolean', default: false },
    METRICS_TOKEN: { type: 'string', minLength: 16, expected: 'at least 16 characters, e.g. the output of openssl rand -hex 16' },
    SHUTDOWN_GRACE: { type: 'integer', minimum: 0, maximum: 3600, default: 25 },
    FILE_MAX_RETENTION: { ...SECONDS, example: 30 * 86_400 },
    SWEEP_INTERVAL: { type: 'integer', minimum: 1, maximum: 86_400, default: 60 },
    IDLE_TIMEOUT: { type: 'integer', minimum: 1, maximum: 3600, default: 120 },
    BODY_TIMEOUT: { type: 'integer', minimum: 1, maximum: 3600, default: 10 }
  }
} as const

/** The names of every variable the gateway reads. */
export const VARIABLES = Object.keys(schema.properties)

const UNITS: Record<string, number> = { B: 1, KB: 1e3, MB: 1e6, GB: 1e9, TB: 1e12, KIB: 1024, MIB: 1024 ** 2, GIB: 1024 ** 3, TIB: 1024 ** 4 }

/** "20MiB", "10GiB", "1500000" → bytes. */
export function parseSize (value: string): number {
  const m = /^([0-9.]+)\s*([A-Za-z]*)$/.exec(value.trim())
  const unit = UNITS[(m?.[2] ?? '').toUpperCase() || 'B']
  if (m === null || unit === undefined) throw new ConfigError(`not a size: ${value}`)
  return Math.floor(Number(m[1]) * unit)
}

/** "true", "false", a hop count, or a comma list of addresses and CIDRs (each checked). */
function parseTrustProxy (value: string | undefined): boolean | number | string[] {
  if (value === undefined || value === 'false') return false
  if (value === 'true') return true
  if (/^[0-9]+$/.test(value)) return Number(value)
  const entries = value.split(',').map((s) => s.trim())
  for (const entry of entries) {
    if (ipaddr.isValid(entry)) continue
    try {
      ipaddr.parseCIDR(entry)
    } catch {
      throw new ConfigError(`TRUST_PROXY must be true, false, a hop count, or a comma list of addresses and CIDRs such as 10.0.0.0/8 or 2001:db8::/32 (${JSON.stringify(entry)} is none of these)`)
    }
  }
  return entries
}

/**
 * A URL variable that `new URL` reads (the schema's pattern admits `http://a b`), with no
 * credentials in it; `originOnly`: nothing after the host and port either.
 */
function checkUrl (name: string, value: string | undefined, { originOnly = false } = {}): void {
  if (value === undefined) return
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new ConfigError(`${name} must be ${expectation(name)} (got ${JSON.stringify(withoutCredentials(value))}, which is not a URL)`)
  }
  if (url.username !== '' || url.password !== '') throw new ConfigError(`${name} must not hold a user name or password`)
  if (originOnly && url.pathname !== '/') {
    throw new ConfigError(`${name} must be an origin: scheme, host and port, no path (got ${JSON.stringify(value)}); presigned URLs are signed for the path the store sees`)
  }
}

/**
 * OIDC_ISSUER and what goes with it. The issuer must be https, except on a loopback host
 * (a provider on the same machine, as in the tests): its keys decide who is who.
 */
function oidcConfig (str: (name: string) => string | undefined, num: (name: string) => number): OidcConfig | null {
  const issuer = str('OIDC_ISSUER')
  const clientId = str('OIDC_CLIENT_ID')
  for (const name of ['JWT_AUDIENCE', 'OIDC_CLIENT_ID', 'OIDC_CLIENT_SECRET']) {
    if (issuer === undefined && str(name) !== undefined) throw new ConfigError(`${name} is set, but OIDC_ISSUER is not`)
  }
  if (issuer === undefined) return null
  checkUrl('OIDC_ISSUER', issuer)
  const { protocol, hostname } = new URL(issuer)
  if (protocol !== 'https:' && !['localhost', '127.0.0.1', '[::1]'].includes(hostname)) {
    throw new ConfigError(`OIDC_ISSUER must be https (got ${JSON.stringify(issuer)}); plain http is accepted only on localhost`)
  }
  const audience = str('JWT_AUDIENCE')
  if (audience === undefined) throw new ConfigError('JWT_AUDIENCE is required with OIDC_ISSUER: the audience the provider puts in tokens meant for this gateway (its "aud" claim)')
  if (clientId === undefined && str('OIDC_CLIENT_SECRET') !== undefined) throw new ConfigError('OIDC_CLIENT_SECRET is set, but OIDC_CLIENT_ID is not')
  return {
    // Kept as given: `iss` is compared with it exactly.
    issuer,
    audience,
    userClaim: str('USER_CLAIM') as string,
    groupsClaim: str('GROUPS_CLAIM') as string,
    jwksCooldown: num('OIDC_JWKS_COOLDOWN'),
    signIn: clientId === undefined ? null : { clientId, clientSecret: str('OIDC_CLIENT_SECRET') ?? null, scopes: str('OIDC_SCOPES') as string }
  }
}

/** A value as an error message may quote it: a URL's user name and password masked. */
function withoutCredentials (value: string): string {
  return value.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/?#@]*@/i, '$1***@')
}

/** "host:port, [::1]:port" → nodes; throws a ConfigError naming the variable. */
function parseNodes (name: string, value: string): RedisNode[] {
  return value.split(',').map((entry) => {
    const m = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]+)):([0-9]{1,5})$/.exec(entry.trim())
    const port = Number(m?.[3])
    if (m === null || port < 1 || port > 65535) {
      throw new ConfigError(`${name} must be a comma list of host:port (got ${JSON.stringify(entry.trim())})`)
    }
    return { host: (m[1] ?? m[2]) as string, port }
  })
}

export interface RedisUrlSettings { username?: string, password?: string, db: number, tls: boolean }

/**
 * What REDIS_URL gives the data nodes of a sentinel or cluster topology: user, password,
 * database (the path) and TLS (`rediss:`); the host is not used but must be there
 * (`rediss://:secret@redis/0`). Throws a ConfigError naming REDIS_URL.
 */
export function redisUrlSettings (url: string): RedisUrlSettings {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new ConfigError('REDIS_URL is not a valid URL (write a host even where it is not used, e.g. rediss://:secret@redis/0)')
  }
  const db = /^\/?([0-9]*)$/.exec(parsed.pathname)?.[1]
  if (db === undefined) throw new ConfigError('REDIS_URL must name its database as a number (redis://host/2)')
  return {
    ...(parsed.username !== '' ? { username: decodeRedisUrlPart(parsed.username) } : {}),
    ...(parsed.password !== '' ? { password: decodeRedisUrlPart(parsed.password) } : {}),
    db: Number(db),
    tls: parsed.protocol === 'rediss:'
  }
}

/** A user name or password of REDIS_URL; a bad percent-escape is named without the value (a secret). */
function decodeRedisUrlPart (value: string): string {
  try {
    return decodeURIComponent(value)
  } catch {
    throw new ConfigError('REDIS_URL has a bad percent-escape in its user name or password (write % as %25)')
  }
}

/** REDIS_URL, REDIS_SENTINELS (+ REDIS_SENTINEL_NAME) or REDIS_CLUSTER_NODES: at most one topology. */
function redisConfig (str: (name: string) => string | undefined): RedisConfig | null {
  const url = str('REDIS_URL') ?? null
  const keyPrefix = str('REDIS_KEY_PREFIX') ?? ''
  const sentinels = str('REDIS_SENTINELS')
  const name = str('REDIS_SENTINEL_NAME')
  const cluster = str('REDIS_CLUSTER_NODES')
  if (sentinels !== undefined && cluster !== undefined) {
    throw new ConfigError('REDIS_SENTINELS and REDIS_CLUSTER_NODES are exclusive: choose one Redis topology')
  }
  if (name !== undefined && sentinels === undefined) throw new ConfigError('REDIS_SENTINEL_NAME is set, but REDIS_SENTINELS is not')
  if (sentinels !== undefined) {
    if (name === undefined) throw new ConfigError('REDIS_SENTINEL_NAME is required with REDIS_SENTINELS (the master\'s name in the sentinels\' configuration)')
    if (url !== null) redisUrlSettings(url)
    return { topology: 'sentinel', sentinels: parseNodes('REDIS_SENTINELS', sentinels), name, url, keyPrefix }
  }
  if (cluster !== undefined) {
    if (url !== null && redisUrlSettings(url).db !== 0) {
      throw new ConfigError('REDIS_URL must not name a database with REDIS_CLUSTER_NODES (a Redis Cluster has database 0 only)')
    }
    return { topology: 'cluster', nodes: parseNodes('REDIS_CLUSTER_NODES', cluster), url, keyPrefix }
  }
  if (url !== null) redisUrlSettings(url)
  return url === null ? null : { topology: 'single', url, keyPrefix }
}

const SECRET_VARIABLES = new Set(['JWT_SECRET', 'METRICS_TOKEN', 'REDIS_URL', 'SESSION_SECRET', 'OIDC_CLIENT_SECRET'])

interface Variable { type?: string, enum?: readonly string[], minimum?: number, maximum?: number, default?: unknown, example?: unknown, expected?: string }

/** What `name` must be, in words and with an example. */
function expectation (name: string): string {
  const v = (schema.properties as Record<string, Variable | undefined>)[name]
  const sample = v?.example ?? v?.default
  const example = sample === undefined ? '' : `, e.g. ${String(sample)}`
  if (v?.expected !== undefined) return v.expected
  if (v?.enum !== undefined) return `one of ${v.enum.join(', ')}`
  if (v?.type === 'boolean') return 'true or false'
  if (v?.type === 'integer') return `a whole number from ${v.minimum ?? 0} to ${v.maximum ?? Number.MAX_SAFE_INTEGER}${example}`
  return `valid${example}`
}

const ajv = new Ajv({ coerceTypes: true, useDefaults: true, allErrors: false, strict: false })
const validate = ajv.compile(schema)

/** Edit distance, for telling a misspelt variable from another program's. */
function distance (a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const next = [i]
    for (let j = 1; j <= b.length; j++) next[j] = Math.min((row[j] ?? 0) + 1, (next[j - 1] ?? 0) + 1, (row[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1))
    row = next
  }
  return row[b.length] ?? 0
}

/**
 * Variables set in `env` that are an edit or two from one Linkgate reads (MAX_UPLOADBYTES,
 * REDIS_UR): most likely misspelt, and then silently ignored. Each with the name it resembles.
 */
export function misspeltVariables (env: NodeJS.ProcessEnv = process.env): Array<{ name: string, meant: string }> {
  const known = Object.keys(schema.properties)
  return Object.keys(env).flatMap((name) => {
    if (known.includes(name)) return []
    // Short names are close to many others (HOME and HOST): one edit for them.
    const meant = known.find((k) => distance(name, k) <= (k.length >= 8 ? 2 : 1))
    return meant === undefined ? [] : [{ name, meant }]
  })
}

/** Reads the environment; an empty value means unset. Throws ConfigError naming the variable. */
export function loadConfig (env: NodeJS.ProcessEnv = process.env): Config {
  const raw: Record<string, unknown> = {}
  for (const name of Object.keys(schema.properties)) {
    const value = env[name]
    if (value !== undefined && value.trim() !== '') raw[name] = value.trim()
  }
  if (!validate(raw)) {
    const name = validate.errors?.[0]?.instancePath.slice(1) ?? 'configuration'
    // Values that may hold a secret (a password in a URL) are not repeated in the message.
    const value = env[name]?.trim()
    const given = value !== undefined && !SECRET_VARIABLES.has(name) ? ` (got ${JSON.stringify(withoutCredentials(value))})` : ''
    throw new ConfigError(`${name} must be ${expectation(name)}${given}`)
  }
  const v = raw as Record<string, string | number | boolean | undefined>
  const str = (name: string): string | undefined => v[name] as string | undefined
  const num = (name: string): number => v[name] as number

  const port = num('PORT')
  const redis = redisConfig(str)
  checkUrl('PUBLIC_URL', str('PUBLIC_URL'))
  checkUrl('S3_ENDPOINT', str('S3_ENDPOINT'))
  checkUrl('S3_PUBLIC_ENDPOINT', str('S3_PUBLIC_ENDPOINT'), { originOnly: true })
  const endpoint = str('S3_ENDPOINT')
  const s3 = str('S3_BUCKET') !== undefined
    ? {
        bucket: str('S3_BUCKET') as string,
        endpoint,
        publicEndpoint: str('S3_PUBLIC_ENDPOINT'),
        region: str('S3_REGION'),
        forcePathStyle: v.S3_FORCE_PATH_STYLE as boolean,
        // S3-compatible stores mishandle the SDK's default aws-chunked CRC32 trailers.
        checksums: (str('S3_CHECKSUMS') ?? (endpoint !== undefined ? 'WHEN_REQUIRED' : 'WHEN_SUPPORTED')) as ChecksumMode,
        idleTimeout: num('S3_IDLE_TIMEOUT')
      }
    : null

  const oidc = oidcConfig(str, num)
  const sessionSecrets = str('SESSION_SECRET')?.split(',')
  const session = sessionSecrets === undefined ? null : { secrets: sessionSecrets, ttl: num('SESSION_TTL') }
  const shared = redis !== null || s3 !== null
  if (oidc?.signIn != null && session === null && shared) {
    throw new ConfigError('SESSION_SECRET is required for browser sign-in (OIDC_CLIENT_ID) when Redis or S3_BUCKET is set: every instance must open the others\' session cookies (at least 32 characters, e.g. openssl rand -hex 32)')
  }
  const given = str('JWT_SECRET')
  let jwtSecret = given ?? (oidc !== null ? sessionSecrets?.[0] : undefined)
  const jwtSecretGenerated = jwtSecret === undefined
  if (jwtSecret === undefined) {
    if (shared) {
      throw new ConfigError(oidc === null
        ? 'JWT_SECRET is required when Redis (REDIS_URL, REDIS_SENTINELS or REDIS_CLUSTER_NODES) or S3_BUCKET is set (at least 32 bytes, e.g. openssl rand -base64 48)'
        : 'JWT_SECRET or SESSION_SECRET is required when Redis or S3_BUCKET is set: the gateway derives the keys of its forms and URLs from it (at least 32 characters, e.g. openssl rand -hex 32)')
    }
    jwtSecret = randomBytes(32).toString('base64url')
  }

  const linkDefaultTtl = num('LINK_DEFAULT_TTL')
  const linkMaxTtl = num('LINK_MAX_TTL')
  if (linkDefaultTtl > linkMaxTtl) throw new ConfigError(`LINK_DEFAULT_TTL must not exceed LINK_MAX_TTL (${linkMaxTtl})`)
  const maxUploadBytes = parseSize(str('MAX_UPLOAD_BYTES') as string)
  if (maxUploadBytes < 1) throw new ConfigError('MAX_UPLOAD_BYTES must be at least 1 byte')

  return {
    host: str('HOST') as string,
    port,
    publicUrl: (str('PUBLIC_URL') ?? `http://localhost:${port}`).replace(/\/+$/, ''),
    logLevel: str('LOG_LEVEL') as string,
    redis,
    s3,
    dataDir: str('DATA_DIR') as string,
    jwtSecret,
    jwtSecretGenerated,
    acceptHs256: given !== undefined || oidc === null,
    oidc,
    // In embedded mode a sign-in works without SESSION_SECRET: one process, a key of its own.
    session: session ?? (oidc?.signIn != null ? { secrets: [randomBytes(32).toString('base64url')], ttl: num('SESSION_TTL') } : null),
    signedUrlTtl: num('SIGNED_URL_TTL'),
    maxUploadBytes,
    linkDefaultTtl,
    linkMaxTtl,
    allowActiveInline: v.ALLOW_ACTIVE_INLINE as boolean,
    auditLog: str('AUDIT_LOG') ?? null,
    trustProxy: parseTrustProxy(str('TRUST_PROXY')),
    limits: {
      redeemPerMinute: num('REDEEM_RATE_LIMIT'),
      redeemMisses: num('REDEEM_MISS_LIMIT'),
      uploadPerMinute: num('UPLOAD_RATE_LIMIT'),
      apiPerMinute: num('API_RATE_LIMIT'),
      authFailures: num('AUTH_FAILURE_LIMIT'),
      uploadConcurrency: num('UPLOAD_CONCURRENCY'),
      passwordChecks: num('PASSWORD_CHECK_CONCURRENCY'),
      failOpen: v.RATE_LIMIT_FAIL_OPEN as boolean
    },
    metricsToken: str('METRICS_TOKEN') ?? null,
    shutdownGrace: num('SHUTDOWN_GRACE'),
    fileMaxRetention: (v.FILE_MAX_RETENTION as number | undefined) ?? null,
    sweepInterval: num('SWEEP_INTERVAL'),
    idleTimeout: num('IDLE_TIMEOUT'),
    bodyTimeout: num('BODY_TIMEOUT')
  }
}
