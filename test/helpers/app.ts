// One way to build the app in tests: real Redis and s3rver when given, embedded otherwise.
import type { FastifyInstance, FastifyServerOptions } from 'fastify'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildApp } from '../../src/app.js'
import type { Config, RedisConfig } from '../../src/config.js'
import type { TestRedis } from './redis.js'
import type { TestS3 } from './s3.js'
import type { Teardown } from './teardown.js'

export const MiB = 1024 * 1024
export const TEST_JWT_SECRET = 'linkgate-test-secret-0123456789abcdef'

/** The S3 settings for a test's s3rver (or a stand-in at its address). */
export function s3Config (s3: TestS3): NonNullable<Config['s3']> {
  return { bucket: s3.bucket, endpoint: s3.endpoint, publicEndpoint: undefined, region: s3.region, forcePathStyle: true, checksums: 'WHEN_REQUIRED', idleTimeout: 10 }
}

export async function testConfig (t: Teardown, deps: TestDeps, overrides: Partial<Config> = {}): Promise<Config> {
  const dataDir = await mkdtemp(join(tmpdir(), 'linkgate-data-'))
  // Retried: a file still being written as the app closes can make the first try ENOTEMPTY.
  t.teardown(async () => { await rm(dataDir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 }) })
  return {
    host: '127.0.0.1',
    port: 0,
    publicUrl: 'http://gateway.test',
    logLevel: 'silent',
    redis: deps.redis === undefined ? null : 'topology' in deps.redis ? deps.redis : { topology: 'single', url: deps.redis.url, keyPrefix: deps.redis.keyPrefix },
    s3: deps.s3 === undefined ? null : s3Config(deps.s3),
    dataDir,
    jwtSecret: TEST_JWT_SECRET,
    jwtSecretGenerated: false,
    acceptHs256: true,
    oidc: null,
    session: null,
    signedUrlTtl: 60,
    maxUploadBytes: 20 * MiB,
    linkDefaultTtl: 7 * 86_400,
    linkMaxTtl: 30 * 86_400,
    allowActiveInline: false,
    auditLog: join(dataDir, 'audit.log'),
    trustProxy: false,
    // High enough that only the rate-limit tests meet them.
    limits: { redeemPerMinute: 100_000, redeemMisses: 100_000, uploadPerMinute: 100_000, apiPerMinute: 100_000, authFailures: 100_000, uploadConcurrency: 1000, passwordChecks: 64, failOpen: false },
    metricsToken: null,
    shutdownGrace: 25,
    fileMaxRetention: null,
    sweepInterval: 60,
    idleTimeout: 120,
    bodyTimeout: 10,
    ...overrides
  }
}

export interface TestApp {
  app: FastifyInstance
  config: Config
  /** A bearer header value for `sub`, valid for an hour (a JWT without `exp` is refused). */
  auth: (sub?: string) => string
}

export interface TestDeps {
  /** A single node from startRedis(), or any topology as the config names it. */
  redis?: TestRedis | RedisConfig
  s3?: TestS3
  /** Runs before ready(): the place for a test's own hooks. */
  setup?: (app: FastifyInstance) => void
  logger?: FastifyServerOptions['logger']
}

export async function buildTestApp (t: Teardown, deps: TestDeps = {}, overrides: Partial<Config> = {}): Promise<TestApp> {
  const config = await testConfig(t, deps, overrides)
  const app = await buildApp(config, {
    logger: deps.logger,
    s3Credentials: deps.s3 === undefined ? undefined : { accessKeyId: deps.s3.accessKeyId, secretAccessKey: deps.s3.secretAccessKey }
  })
  t.teardown(async () => { await app.close() })
  deps.setup?.(app)
  await app.ready()
  return { app, config, auth: (sub = 'alice') => `Bearer ${app.jwt.sign({ sub }, { expiresIn: '1h' })}` }
}

/** A multipart/form-data body with the given parts, as browsers and FormData send it. */
export function multipartBody (parts: Array<{ name: string, filename?: string, contentType?: string, data: Buffer | string }>): { body: Buffer, contentType: string } {
  const boundary = '----linkgate' + Math.random().toString(16).slice(2)
  const chunks: Buffer[] = []
  for (const part of parts) {
    let head = `--${boundary}\r\nContent-Disposition: form-data; name="${part.name}"`
    if (part.filename !== undefined) head += `; filename="${part.filename}"`
    head += '\r\n'
    if (part.contentType !== undefined) head += `Content-Type: ${part.contentType}\r\n`
    chunks.push(Buffer.from(head + '\r\n'), Buffer.from(part.data), Buffer.from('\r\n'))
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`))
  return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` }
}
