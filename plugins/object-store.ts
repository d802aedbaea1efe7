// Wires the ObjectStore port: S3 when S3_BUCKET is set, a local directory otherwise (whose
// gateway-signed URLs this plugin also serves, at /o/*).
import { S3Client } from '@aws-sdk/client-s3'
import fp from 'fastify-plugin'
import { resolve } from 'node:path'
import { ConfigError } from '../src/config.js'
import { withTimeout } from '../src/with-timeout.js'
import { deriveKey } from '../src/domain/secrets.js'
import localObjectRoutes from '../src/routes/local-objects.js'
import { LocalObjectStore } from '../src/stores/local-object-store.js'
import type { ObjectStore } from '../src/stores/object-store.js'
import { S3ObjectStore } from '../src/stores/s3-object-store.js'

declare module 'fastify' {
  interface FastifyInstance {
    objectStore: ObjectStore
    /** The S3 client behind the object store (for metrics); null in embedded mode. */
    s3Client: S3Client | null
  }
}

export interface ObjectStorePluginOptions {
  /** Static credentials; production leaves this unset and uses the SDK's default chain. */
  s3Credentials?: { accessKeyId: string, secretAccessKey: string } | undefined
}

/** How long a start-up check of DATA_DIR may take. */
const CHECK_MS = 5000

export default fp<ObjectStorePluginOptions>(async function objectStorePlugin (fastify, options) {
  const { s3, dataDir, jwtSecret, publicUrl, maxUploadBytes } = fastify.config
  if (s3 === null) {
    const dir = resolve(dataDir)
    const store = new LocalObjectStore({
      dir,
      // A key of its own, derived so that every restart with the same JWT_SECRET agrees.
      secret: deriveKey(jwtSecret, 'local object urls'),
      baseUrl: publicUrl
    })
    // A directory that cannot be written is a mistake to report at start, not a 500 on every upload.
    // Bounded: Node's recursive mkdir never settles under some paths (/proc/...).
    await withTimeout(store.ping(), CHECK_MS).catch((err: unknown) => {
      throw new ConfigError(`DATA_DIR must be a directory the gateway can write to, and ${dir} is not (${(err as Error).message})`)
    })
    fastify.decorate('s3Client', null)
    fastify.decorate('objectStore', store)
    // Its URLs point back at the gateway, which serves them.
    await fastify.register(localObjectRoutes, { store })
    return
  }
  const client = new S3Client({
    region: s3.region ?? process.env.AWS_REGION ?? 'us-east-1',
    endpoint: s3.endpoint,
    forcePathStyle: s3.forcePathStyle,
    credentials: options.s3Credentials,
    requestChecksumCalculation: s3.checksums,
    responseChecksumValidation: s3.checksums,
    maxAttempts: 3,
    // Bounded: an unreachable or stalled store fails the request instead of hanging it.
    // requestTimeout is socket idleness; without throwOnRequestTimeout it only warns.
    requestHandler: { connectionTimeout: 3000, requestTimeout: s3.idleTimeout * 1000, throwOnRequestTimeout: true }
  })
  const store = new S3ObjectStore({ client, bucket: s3.bucket, maxObjectBytes: maxUploadBytes, publicEndpoint: s3.publicEndpoint })
  fastify.decorate('objectStore', store)
  fastify.decorate('s3Client', client)
  // Missing credentials must not stop the start (the store answers 503 and /readyz says
  // so until they come): one line says why, early. Not awaited: the default chain may take
  // seconds to give up (instance metadata).
  client.config.credentials().catch((err: unknown) => {
    fastify.log.error(`object store: no S3 credentials (${(err as Error).message}); set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, ` +
      'AWS_PROFILE, or give the host a role; requests that need the bucket answer 503 until then')
  })
  fastify.addHook('onClose', async () => {
    await store.close()
    client.destroy()
  })
}, { name: 'object-store' })
