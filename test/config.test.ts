import t from 'tap'
import { ConfigError, loadConfig, parseSize, redisUrlSettings, misspeltVariables } from '../src/config.js'

const SECRET = 'a-test-jwt-secret-of-at-least-32-bytes!'
const GiB = 1024 ** 3
const DAY = 86_400

/** The ConfigError loadConfig throws for env (fails the test when it does not throw). */
function configError (env: NodeJS.ProcessEnv): ConfigError {
  try {
    loadConfig(env)
  } catch (err) {
    if (err instanceof ConfigError) return err
    throw err
  }
  throw new Error(`loadConfig(${JSON.stringify(env)}) did not throw`)
}

t.test('an empty environment is the embedded mode with defaults', async (t) => {
  const config = loadConfig({})
  t.match(config, {
    host: '0.0.0.0',
    port: 3000,
    publicUrl: 'http://localhost:3000',
    logLevel: 'info',
    redis: null,
    s3: null,
    dataDir: './data',
    jwtSecretGenerated: true,
    signedUrlTtl: 60,
    maxUploadBytes: 10 * GiB,
    linkDefaultTtl: 7 * DAY,
    linkMaxTtl: 30 * DAY
  })
  t.equal(config.redis, null)
  t.equal(config.s3, null)
  t.ok(config.jwtSecret.length >= 32, 'a generated secret of at least 32 characters')
  t.not(loadConfig({}).jwtSecret, config.jwtSecret, 'generated afresh each time')
})

t.test('unrelated variables are ignored', async (t) => {
  t.equal(loadConfig({ PATH: '/usr/bin', HOME: '/root', port: '1234' }).port, 3000)
})

t.test('empty and blank strings mean unset', async (t) => {
  const config = loadConfig({
    PORT: '',
    PUBLIC_URL: '',
    LOG_LEVEL: ' ',
    REDIS_URL: '',
    S3_BUCKET: '  ',
    S3_ENDPOINT: '',
    JWT_SECRET: '',
    SIGNED_URL_TTL: '',
    MAX_UPLOAD_BYTES: '',
    LINK_DEFAULT_TTL: '',
    LINK_MAX_TTL: ''
  })
  t.match(config, {
    port: 3000,
    publicUrl: 'http://localhost:3000',
    logLevel: 'info',
    redis: null,
    s3: null,
    jwtSecretGenerated: true,
    signedUrlTtl: 60,
    maxUploadBytes: 10 * GiB,
    linkDefaultTtl: 7 * DAY,
    linkMaxTtl: 30 * DAY
  })
})

t.test('values are trimmed', async (t) => {
  t.equal(loadConfig({ PORT: ' 8080 ' }).port, 8080)
  t.equal(loadConfig({ LOG_LEVEL: ' debug\n' }).logLevel, 'debug')
})

t.test('PUBLIC_URL defaults to the port and loses trailing slashes', async (t) => {
  t.equal(loadConfig({ PORT: '8080' }).publicUrl, 'http://localhost:8080')
  t.equal(loadConfig({ PORT: '8080', PUBLIC_URL: 'https://files.example.com' }).publicUrl, 'https://files.example.com')
  t.equal(loadConfig({ PUBLIC_URL: 'https://files.example.com/' }).publicUrl, 'https://files.example.com')
  t.equal(loadConfig({ PUBLIC_URL: 'https://example.com/share//' }).publicUrl, 'https://example.com/share')
  t.equal(loadConfig({ PUBLIC_URL: 'http://127.0.0.1:9000/a/b' }).publicUrl, 'http://127.0.0.1:9000/a/b')
  for (const bad of ['files.example.com', 'ftp://x', 'https://x/?q=1', 'https://x/#f', 'https://']) {
    t.ok(configError({ PUBLIC_URL: bad }).message.startsWith('PUBLIC_URL '), bad)
  }
})

t.test('MAX_UPLOAD_BYTES accepts sizes with units', async (t) => {
  t.equal(loadConfig({ MAX_UPLOAD_BYTES: '20MiB' }).maxUploadBytes, 20 * 1024 * 1024)
  t.equal(loadConfig({ MAX_UPLOAD_BYTES: '1.5GB' }).maxUploadBytes, 1_500_000_000)
  t.equal(loadConfig({ MAX_UPLOAD_BYTES: '1048576' }).maxUploadBytes, 1_048_576)
  t.equal(loadConfig({ MAX_UPLOAD_BYTES: '100 KB' }).maxUploadBytes, 100_000)
  t.equal(loadConfig({ MAX_UPLOAD_BYTES: '1TiB' }).maxUploadBytes, 1024 ** 4)
  t.equal(loadConfig({ MAX_UPLOAD_BYTES: '1B' }).maxUploadBytes, 1)
})

t.test('parseSize', async (t) => {
  const cases: Array<[string, number]> = [
    ['0', 0],
    ['1', 1],
    ['1500000', 1_500_000],
    ['512B', 512],
    ['2KB', 2000],
    ['2KiB', 2048],
    ['20MiB', 20 * 1024 ** 2],
    ['20MB', 20_000_000],
    ['10GiB', 10 * GiB],
    ['1.5GB', 1_500_000_000],
    ['1.5GiB', 1.5 * GiB],
    ['2TB', 2e12],
    ['1.5', 1],
    [' 3 MiB ', 3 * 1024 ** 2],
    ['20mib', 20 * 1024 ** 2]
  ]
  for (const [value, bytes] of cases) t.equal(parseSize(value), bytes, value)
  for (const bad of ['', 'lots', 'MiB', '10 XB', '-1', '10 MiBs', '1e6']) {
    let thrown: unknown
    try {
      parseSize(bad)
    } catch (err) {
      thrown = err
    }
    t.type(thrown, ConfigError, JSON.stringify(bad))
  }
})

t.test('S3 settings', async (t) => {
  const aws = loadConfig({ S3_BUCKET: 'my-bucket', JWT_SECRET: SECRET })
  t.same(aws.s3, { bucket: 'my-bucket', endpoint: undefined, publicEndpoint: undefined, region: undefined, forcePathStyle: false, checksums: 'WHEN_SUPPORTED', idleTimeout: 10 })
  t.equal(aws.jwtSecret, SECRET)
  t.equal(aws.jwtSecretGenerated, false)

  const minio = loadConfig({ S3_BUCKET: 'my-bucket', S3_ENDPOINT: 'http://127.0.0.1:9000', S3_REGION: 'us-east-1', S3_FORCE_PATH_STYLE: 'true', JWT_SECRET: SECRET })
  t.same(minio.s3, { bucket: 'my-bucket', endpoint: 'http://127.0.0.1:9000', publicEndpoint: undefined, region: 'us-east-1', forcePathStyle: true, checksums: 'WHEN_REQUIRED', idleTimeout: 10 })
  t.equal(minio.s3?.forcePathStyle, true, 'a boolean, not the string')

  t.equal(loadConfig({ S3_BUCKET: 'b-1', S3_FORCE_PATH_STYLE: 'false', JWT_SECRET: SECRET }).s3?.forcePathStyle, false)
  t.equal(loadConfig({ S3_BUCKET: 'b-1', S3_CHECKSUMS: 'WHEN_REQUIRED', JWT_SECRET: SECRET }).s3?.checksums, 'WHEN_REQUIRED')
  t.equal(loadConfig({ S3_BUCKET: 'b-1', S3_ENDPOINT: 'https://s3.example.com', S3_CHECKSUMS: 'WHEN_SUPPORTED', JWT_SECRET: SECRET }).s3?.checksums, 'WHEN_SUPPORTED')
  t.equal(loadConfig({ S3_BUCKET: 'b-1', S3_IDLE_TIMEOUT: '120', JWT_SECRET: SECRET }).s3?.idleTimeout, 120)
  t.equal(loadConfig({ S3_ENDPOINT: 'http://127.0.0.1:9000' }).s3, null, 'no bucket, no S3')
})

t.test('S3_PUBLIC_ENDPOINT: where clients reach the store, when the gateway reaches it elsewhere', async (t) => {
  const compose = loadConfig({ S3_BUCKET: 'linkgate', S3_ENDPOINT: 'http://minio:9000', S3_PUBLIC_ENDPOINT: 'http://localhost:9000', JWT_SECRET: SECRET })
  t.match(compose.s3, { endpoint: 'http://minio:9000', publicEndpoint: 'http://localhost:9000' })
  t.equal(loadConfig({ S3_BUCKET: 'b-1', S3_PUBLIC_ENDPOINT: 'https://files.example.com:8443', JWT_SECRET: SECRET }).s3?.publicEndpoint, 'https://files.example.com:8443')
  for (const bad of ['localhost:9000', 'ftp://x', 'http://x/?q=1', 'https://', 'https://files.example.com/s3']) {
    t.ok(configError({ S3_BUCKET: 'b-1', S3_PUBLIC_ENDPOINT: bad, JWT_SECRET: SECRET }).message.startsWith('S3_PUBLIC_ENDPOINT '), bad)
  }
})

t.test('Redis settings', async (t) => {
  const config = loadConfig({ REDIS_URL: 'redis://localhost:6379/0', JWT_SECRET: SECRET })
  t.same(config.redis, { topology: 'single', url: 'redis://localhost:6379/0', keyPrefix: 'lg:' })
  t.same(loadConfig({ REDIS_URL: 'rediss://r.example.com', REDIS_KEY_PREFIX: 'app:v1:', JWT_SECRET: SECRET }).redis, { topology: 'single', url: 'rediss://r.example.com', keyPrefix: 'app:v1:' })
})

t.test('Redis topologies: sentinels and cluster nodes', async (t) => {
  t.same(loadConfig({ REDIS_SENTINELS: 's1:26379, 10.0.0.2:26380,[::1]:26381', REDIS_SENTINEL_NAME: 'mymaster', JWT_SECRET: SECRET }).redis, {
    topology: 'sentinel',
    sentinels: [{ host: 's1', port: 26379 }, { host: '10.0.0.2', port: 26380 }, { host: '::1', port: 26381 }],
    name: 'mymaster',
    url: null,
    keyPrefix: 'lg:'
  })
  t.match(loadConfig({ REDIS_SENTINELS: 's1:26379', REDIS_SENTINEL_NAME: 'm', REDIS_URL: 'rediss://:secret@redis/2', JWT_SECRET: SECRET }).redis, { topology: 'sentinel', url: 'rediss://:secret@redis/2' })
  t.same(loadConfig({ REDIS_CLUSTER_NODES: 'n1:7000,n2:7001', REDIS_KEY_PREFIX: 'app:', JWT_SECRET: SECRET }).redis, {
    topology: 'cluster', nodes: [{ host: 'n1', port: 7000 }, { host: 'n2', port: 7001 }], url: null, keyPrefix: 'app:'
  })
  t.match(loadConfig({ REDIS_CLUSTER_NODES: 'n1:7000', REDIS_URL: 'rediss://u:p@cluster/0', JWT_SECRET: SECRET }).redis, { topology: 'cluster', url: 'rediss://u:p@cluster/0' })
})

t.test('REDIS_URL settings for the data nodes of sentinels and clusters', async (t) => {
  t.same(redisUrlSettings('rediss://:p%40ss@redis/2'), { password: 'p@ss', db: 2, tls: true })
  t.same(redisUrlSettings('redis://app:pw@x'), { username: 'app', password: 'pw', db: 0, tls: false })
})

t.test('a bad Redis topology throws a ConfigError naming the variable', async (t) => {
  const cases: Array<[string, NodeJS.ProcessEnv]> = [
    ['REDIS_SENTINELS', { REDIS_SENTINELS: 's1:26379', REDIS_SENTINEL_NAME: 'm', REDIS_CLUSTER_NODES: 'n1:7000' }],
    ['REDIS_SENTINEL_NAME', { REDIS_SENTINELS: 's1:26379', JWT_SECRET: SECRET }],
    ['REDIS_SENTINEL_NAME', { REDIS_SENTINEL_NAME: 'm', JWT_SECRET: SECRET }],
    ['REDIS_SENTINEL_NAME', { REDIS_SENTINEL_NAME: 'm', REDIS_CLUSTER_NODES: 'n1:7000', JWT_SECRET: SECRET }],
    ['REDIS_SENTINEL_NAME', { REDIS_SENTINELS: 's1:26379', REDIS_SENTINEL_NAME: 'has space', JWT_SECRET: SECRET }],
    ['REDIS_SENTINELS', { REDIS_SENTINELS: 's1', REDIS_SENTINEL_NAME: 'm', JWT_SECRET: SECRET }],
    ['REDIS_SENTINELS', { REDIS_SENTINELS: 's1:26379,', REDIS_SENTINEL_NAME: 'm', JWT_SECRET: SECRET }],
    ['REDIS_CLUSTER_NODES', { REDIS_CLUSTER_NODES: 'n1:70000', JWT_SECRET: SECRET }],
    ['REDIS_CLUSTER_NODES', { REDIS_CLUSTER_NODES: 'redis://n1:7000', JWT_SECRET: SECRET }],
    ['REDIS_URL', { REDIS_CLUSTER_NODES: 'n1:7000', REDIS_URL: 'redis://x/3', JWT_SECRET: SECRET }],
    ['REDIS_URL', { REDIS_CLUSTER_NODES: 'n1:7000', REDIS_URL: 'redis://:secret@/0', JWT_SECRET: SECRET }],
    ['REDIS_URL', { REDIS_SENTINELS: 's1:26379', REDIS_SENTINEL_NAME: 'm', REDIS_URL: 'redis://x/db', JWT_SECRET: SECRET }]
  ]
  for (const [name, env] of cases) {
    const err = configError(env)
    t.ok(err.message.startsWith(name + ' '), `${JSON.stringify(env)} → ${err.message}`)
  }
})

t.test('each bad value throws a ConfigError that starts with the variable name', async (t) => {
  const cases: Array<[string, NodeJS.ProcessEnv]> = [
    ['PORT', { PORT: 'abc' }],
    ['PORT', { PORT: '70000' }],
    ['PORT', { PORT: '-1' }],
    ['PORT', { PORT: '80.5' }],
    ['LOG_LEVEL', { LOG_LEVEL: 'loud' }],
    ['REDIS_URL', { REDIS_URL: 'http://x', JWT_SECRET: SECRET }],
    ['REDIS_KEY_PREFIX', { REDIS_URL: 'redis://x', REDIS_KEY_PREFIX: 'has space', JWT_SECRET: SECRET }],
    ['S3_BUCKET', { S3_BUCKET: 'Bad_Bucket', JWT_SECRET: SECRET }],
    ['S3_BUCKET', { S3_BUCKET: 'ab', JWT_SECRET: SECRET }],
    ['S3_ENDPOINT', { S3_BUCKET: 'bucket', S3_ENDPOINT: 'localhost:9000', JWT_SECRET: SECRET }],
    ['S3_FORCE_PATH_STYLE', { S3_BUCKET: 'bucket', S3_FORCE_PATH_STYLE: 'yes', JWT_SECRET: SECRET }],
    ['S3_CHECKSUMS', { S3_BUCKET: 'bucket', S3_CHECKSUMS: 'ALWAYS', JWT_SECRET: SECRET }],
    ['S3_IDLE_TIMEOUT', { S3_BUCKET: 'bucket', S3_IDLE_TIMEOUT: '0', JWT_SECRET: SECRET }],
    ['S3_IDLE_TIMEOUT', { S3_BUCKET: 'bucket', S3_IDLE_TIMEOUT: '1.5', JWT_SECRET: SECRET }],
    ['JWT_SECRET', { JWT_SECRET: 'short' }],
    ['JWT_SECRET', { JWT_SECRET: 'x'.repeat(31) }],
    ['SIGNED_URL_TTL', { SIGNED_URL_TTL: '0' }],
    ['SIGNED_URL_TTL', { SIGNED_URL_TTL: '604801' }],
    ['MAX_UPLOAD_BYTES', { MAX_UPLOAD_BYTES: 'lots' }],
    ['MAX_UPLOAD_BYTES', { MAX_UPLOAD_BYTES: '0' }],
    ['MAX_UPLOAD_BYTES', { MAX_UPLOAD_BYTES: '0.5' }],
    ['LINK_DEFAULT_TTL', { LINK_DEFAULT_TTL: '0' }],
    ['LINK_MAX_TTL', { LINK_MAX_TTL: 'forever' }],
    ['LINK_DEFAULT_TTL', { LINK_DEFAULT_TTL: '100', LINK_MAX_TTL: '50' }],
    ['LINK_DEFAULT_TTL', { LINK_DEFAULT_TTL: String(31 * DAY) }]
  ]
  for (const [name, env] of cases) {
    const err = configError(env)
    t.type(err, ConfigError)
    t.ok(err.message.startsWith(name + ' '), `${JSON.stringify(env)} → ${err.message}`)
  }
})

t.test('a bad value is explained in words with an example, never as a regular expression', async (t) => {
  // Every variable with a pattern or a list of values, and the other kinds once each.
  const cases: Array<[NodeJS.ProcessEnv, string]> = [
    [{ PUBLIC_URL: 'files.example.com' }, 'PUBLIC_URL must be an http or https URL with no query or fragment, e.g. https://files.example.com (got "files.example.com")'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent (got "loud")'],
    [{ REDIS_URL: 'localhost:6379', JWT_SECRET: SECRET }, 'REDIS_URL must be a redis:// or rediss:// URL, e.g. redis://localhost:6379/0'],
    [{ REDIS_URL: 'redis://x', REDIS_KEY_PREFIX: 'has space', JWT_SECRET: SECRET }, 'REDIS_KEY_PREFIX must be up to 64 letters, digits, colons, dots, dashes or underscores, e.g. lg: (got "has space")'],
    [{ REDIS_SENTINELS: 's1:26379', REDIS_SENTINEL_NAME: 'has space', JWT_SECRET: SECRET }, 'REDIS_SENTINEL_NAME must be a name of up to 128 letters, digits, dots, dashes or underscores, e.g. mymaster (got "has space")'],
    [{ S3_BUCKET: 'My_Bucket', JWT_SECRET: SECRET }, 'S3_BUCKET must be a bucket name: 3 to 63 lower-case letters, digits, dots or dashes, beginning and ending with a letter or digit, e.g. my-files (got "My_Bucket")'],
    [{ S3_BUCKET: 'b-1', S3_ENDPOINT: 'minio:9000', JWT_SECRET: SECRET }, 'S3_ENDPOINT must be the http or https URL the gateway reaches the store at, e.g. http://minio:9000 (got "minio:9000")'],
    [{ S3_BUCKET: 'b-1', S3_PUBLIC_ENDPOINT: 'localhost:9000', JWT_SECRET: SECRET }, 'S3_PUBLIC_ENDPOINT must be the origin clients reach the store at (http or https, host and port, no path), e.g. http://localhost:9000 (got "localhost:9000")'],
    [{ S3_BUCKET: 'b-1', S3_REGION: 'EU West', JWT_SECRET: SECRET }, 'S3_REGION must be a region name of lower-case letters, digits and dashes, e.g. eu-west-1 (got "EU West")'],
    [{ S3_BUCKET: 'b-1', S3_CHECKSUMS: 'ALWAYS', JWT_SECRET: SECRET }, 'S3_CHECKSUMS must be one of WHEN_REQUIRED, WHEN_SUPPORTED (got "ALWAYS")'],
    [{ MAX_UPLOAD_BYTES: '10G' }, 'MAX_UPLOAD_BYTES must be a number of bytes, optionally with a unit (B, KB, MB, GB, TB, KiB, MiB, GiB or TiB), e.g. 10GiB, 500MB or 1048576 (got "10G")'],
    [{ TRUST_PROXY: 'yes' }, 'TRUST_PROXY must be true, false, the number of proxies in front (e.g. 1), or a comma list of their addresses and CIDRs (e.g. 10.0.0.0/8, 192.168.1.10) (got "yes")'],
    [{ JWT_SECRET: 'short' }, 'JWT_SECRET must be at least 32 characters, e.g. the output of openssl rand -base64 48'],
    [{ METRICS_TOKEN: 'short' }, 'METRICS_TOKEN must be at least 16 characters, e.g. the output of openssl rand -hex 16'],
    [{ S3_BUCKET: 'b-1', S3_FORCE_PATH_STYLE: 'yes', JWT_SECRET: SECRET }, 'S3_FORCE_PATH_STYLE must be true or false (got "yes")'],
    [{ PORT: '70000' }, 'PORT must be a whole number from 0 to 65535, e.g. 3000 (got "70000")'],
    [{ FILE_MAX_RETENTION: 'forever' }, 'FILE_MAX_RETENTION must be a whole number from 1 to 315360000, e.g. 2592000 (got "forever")']
  ]
  for (const [env, message] of cases) {
    const err = configError(env)
    t.equal(err.message, message)
    t.notMatch(err.message, /must match|pattern|\^|\[/, 'no regular expression')
  }
})

t.test('LINK_DEFAULT_TTL may equal LINK_MAX_TTL', async (t) => {
  t.match(loadConfig({ LINK_DEFAULT_TTL: '60', LINK_MAX_TTL: '60' }), { linkDefaultTtl: 60, linkMaxTtl: 60 })
})

t.test('JWT_SECRET is required once Redis or S3 is configured', async (t) => {
  for (const env of [
    { REDIS_URL: 'redis://localhost:6379' }, { S3_BUCKET: 'my-bucket' }, { REDIS_URL: 'redis://x', S3_BUCKET: 'my-bucket', JWT_SECRET: ' ' },
    { REDIS_SENTINELS: 's1:26379', REDIS_SENTINEL_NAME: 'mymaster' }, { REDIS_CLUSTER_NODES: 'n1:7000,n2:7000' }
  ]) {
    const err = configError(env)
    t.ok(err.message.startsWith('JWT_SECRET '), err.message)
  }
  t.equal(loadConfig({ JWT_SECRET: SECRET }).jwtSecretGenerated, false, 'a given secret in embedded mode is used')
  t.equal(loadConfig({ JWT_SECRET: SECRET }).jwtSecret, SECRET)
})

t.test('a misspelt variable is named with the one it resembles; other programs\' variables are not', async (t) => {
  t.same(misspeltVariables({ MAX_UPLOADBYTES: '1', REDIS_UR: 'redis://x', LOGLEVEL: 'debug', HOME: '/root', HOSTNAME: 'box', PATH: '/bin', NODE_OPTIONS: '', REDIS_URL: 'redis://y' }), [
    { name: 'MAX_UPLOADBYTES', meant: 'MAX_UPLOAD_BYTES' },
    { name: 'REDIS_UR', meant: 'REDIS_URL' },
    { name: 'LOGLEVEL', meant: 'LOG_LEVEL' }
  ])
})

t.test('what the patterns let through is checked too: URLs that do not parse, bad CIDRs, credentials where none belong', async (t) => {
  const refused = (env: Record<string, string>, message: RegExp): void => {
    t.throws(() => loadConfig(env), message, JSON.stringify(env))
    try {
      loadConfig(env)
    } catch (err) {
      t.ok(err instanceof ConfigError, 'a ConfigError: one line at start, not a stack')
    }
  }
  refused({ TRUST_PROXY: '1.2.3.4/99' }, /TRUST_PROXY must be true, false, a hop count, or a comma list of addresses and CIDRs[^]*"1\.2\.3\.4\/99" is none/)
  refused({ TRUST_PROXY: '10.0.0.0/8, ::::' }, /"::::" is none of these/)
  refused({ PUBLIC_URL: 'http://a b' }, /PUBLIC_URL must be [^]*which is not a URL/)
  refused({ PUBLIC_URL: 'https://user:pw@files.example.com' }, /PUBLIC_URL must not hold a user name or password/)
  refused({ S3_BUCKET: 'bucket', JWT_SECRET: 'x'.repeat(32), S3_ENDPOINT: 'http://[' }, /S3_ENDPOINT must be [^]*not a URL/)
  refused({ S3_BUCKET: 'bucket', JWT_SECRET: 'x'.repeat(32), S3_PUBLIC_ENDPOINT: 'http://localhost:9000/prefix' }, /S3_PUBLIC_ENDPOINT must be an origin/)
  refused({ REDIS_URL: 'redis://:p%zz@h', JWT_SECRET: 'x'.repeat(32) }, /^REDIS_URL has a bad percent-escape in its user name or password \(write % as %25\)$/)
  t.notMatch(String((() => { try { loadConfig({ REDIS_URL: 'redis://:s3cr3t%zz@h', JWT_SECRET: 'x'.repeat(32) }) } catch (err) { return (err as Error).message } })()), /s3cr3t/, 'the password is not repeated')
  t.same(loadConfig({ TRUST_PROXY: '10.0.0.0/8, 2001:db8::/32, 192.0.2.1' }).trustProxy, ['10.0.0.0/8', '2001:db8::/32', '192.0.2.1'])
})

t.test('identity: OIDC_ISSUER and what goes with it', async (t) => {
  const ISSUER = 'https://id.example.com/realms/acme'
  const oidc = loadConfig({ OIDC_ISSUER: ISSUER, JWT_AUDIENCE: 'linkgate' })
  t.match(oidc.oidc, { issuer: ISSUER, audience: 'linkgate', userClaim: 'sub', groupsClaim: 'groups', jwksCooldown: 30, signIn: null })
  t.equal(oidc.acceptHs256, false, 'OIDC only: the gateway\'s own HS256 tokens are not accepted')
  t.equal(oidc.session, null, 'no sign-in, no session')
  t.equal(loadConfig({ OIDC_ISSUER: ISSUER, JWT_AUDIENCE: 'linkgate', JWT_SECRET: SECRET }).acceptHs256, true, 'both: both accepted')
  t.equal(loadConfig({}).acceptHs256, true, 'neither: the embedded mode\'s own tokens')
  t.equal(loadConfig({ OIDC_ISSUER: 'http://localhost:8080/realms/dev', JWT_AUDIENCE: 'x' }).oidc?.issuer, 'http://localhost:8080/realms/dev', 'http on localhost')

  t.match(configError({ OIDC_ISSUER: 'http://id.example.com', JWT_AUDIENCE: 'x' }).message, /OIDC_ISSUER must be https/)
  t.match(configError({ OIDC_ISSUER: ISSUER }).message, /JWT_AUDIENCE is required with OIDC_ISSUER/)
  t.match(configError({ JWT_AUDIENCE: 'x' }).message, /JWT_AUDIENCE is set, but OIDC_ISSUER is not/)
  t.match(configError({ OIDC_CLIENT_ID: 'x' }).message, /OIDC_CLIENT_ID is set, but OIDC_ISSUER is not/)
  t.match(configError({ OIDC_ISSUER: ISSUER, JWT_AUDIENCE: 'x', OIDC_CLIENT_SECRET: 's' }).message, /OIDC_CLIENT_SECRET is set, but OIDC_CLIENT_ID is not/)
  t.match(configError({ OIDC_ISSUER: ISSUER, JWT_AUDIENCE: 'x', USER_CLAIM: 'a b' }).message, /USER_CLAIM must be a claim name/)
  t.match(configError({ OIDC_ISSUER: ISSUER, JWT_AUDIENCE: 'x', OIDC_SCOPES: 'email profile' }).message, /OIDC_SCOPES must be space-separated scopes beginning with openid/)

  const signIn = loadConfig({ OIDC_ISSUER: ISSUER, JWT_AUDIENCE: 'x', OIDC_CLIENT_ID: 'linkgate', OIDC_CLIENT_SECRET: 'shh' })
  t.match(signIn.oidc?.signIn, { clientId: 'linkgate', clientSecret: 'shh', scopes: 'openid email profile' })
  t.equal(signIn.session?.secrets.length, 1, 'embedded mode: a session key of its own')
  t.equal(signIn.session?.ttl, 8 * 3600)

  const shared = { S3_BUCKET: 'files', OIDC_ISSUER: ISSUER, JWT_AUDIENCE: 'x', OIDC_CLIENT_ID: 'linkgate' }
  t.match(configError(shared).message, /SESSION_SECRET is required for browser sign-in/, 'several instances must share the session secret')
  const SESSION = 'a-session-secret-of-32-characters-or-more'
  const withSession = loadConfig({ ...shared, SESSION_SECRET: `${SESSION},${SESSION}-old`, SESSION_TTL: '3600' })
  t.strictSame(withSession.session, { secrets: [SESSION, `${SESSION}-old`], ttl: 3600 }, 'a comma list: the first seals, all open')
  t.equal(withSession.jwtSecret, SESSION, 'no JWT_SECRET: the gateway\'s keys derive from the first session secret')
  t.match(configError({ S3_BUCKET: 'files', OIDC_ISSUER: ISSUER, JWT_AUDIENCE: 'x' }).message, /JWT_SECRET or SESSION_SECRET is required/)
  const short = configError({ SESSION_SECRET: 'too-short' })
  t.match(short.message, /SESSION_SECRET must be at least 32 characters/)
  t.notOk(short.message.includes('too-short'), 'a secret is never repeated in the message')
  t.notOk(configError({ OIDC_ISSUER: ISSUER, JWT_AUDIENCE: 'x', OIDC_CLIENT_ID: 'c', OIDC_CLIENT_SECRET: 'x'.repeat(2000) }).message.includes('xxxx'), 'nor the client secret')
})

t.test('a URL variable with a password in it is never quoted with the password', async (t) => {
  for (const name of ['PUBLIC_URL', 'S3_ENDPOINT', 'S3_PUBLIC_ENDPOINT', 'OIDC_ISSUER']) {
    const message = configError({ [name]: 'https://admin:hunter2pw@host.example.com/x?y=1', JWT_AUDIENCE: 'x' }).message
    t.notOk(message.includes('hunter2pw'), `${name}: ${message}`)
    t.match(message, new RegExp(name))
  }
})
