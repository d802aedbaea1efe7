import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  GetObjectCommand,
  NoSuchKey,
  S3Client,
  paginateListObjectsV2
} from '@aws-sdk/client-s3'
// s3rver is CommonJS (`module.exports = S3rver`); Node's ESM loader exposes module.exports as the default export.
import S3rver from 's3rver'
import type { Teardown } from './teardown.js'

export interface TestS3 {
  endpoint: string
  bucket: string
  region: string
  accessKeyId: string
  secretAccessKey: string
  client: S3Client
  listKeys(): Promise<string[]>
  getObject(key: string): Promise<Buffer | null>
  stop(): Promise<void>
}

// s3rver's only built-in account; it rejects any other access key id.
const ACCESS_KEY_ID = 'S3RVER'
const SECRET_ACCESS_KEY = 'S3RVER'

export async function startS3 (t: Teardown): Promise<TestS3> {
  const bucket = 'linkgate-test'
  const region = 'us-east-1'
  const directory = await mkdtemp(join(tmpdir(), 'linkgate-s3-'))

  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory,
    // Treat every Host as path-style so tests may use any hostname for the endpoint.
    vhostBuckets: false,
    configureBuckets: [{ name: bucket }]
  })

  const address = await server.run().catch(async (err: unknown) => {
    await rm(directory, { recursive: true, force: true })
    throw err
  })
  const endpoint = `http://127.0.0.1:${address.port}`

  const client = new S3Client({
    endpoint,
    region,
    forcePathStyle: true,
    credentials: { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY },
    // s3rver predates the flexible-checksum defaults and would choke on the extra trailers/headers.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED'
  })

  async function listKeys (): Promise<string[]> {
    const keys: string[] = []
    for await (const page of paginateListObjectsV2({ client }, { Bucket: bucket })) {
      for (const obj of page.Contents ?? []) {
        if (obj.Key !== undefined) keys.push(obj.Key)
      }
    }
    return keys
  }

  async function getObject (key: string): Promise<Buffer | null> {
    try {
      const res = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }))
      if (res.Body === undefined) return Buffer.alloc(0)
      return Buffer.from(await res.Body.transformToByteArray())
    } catch (err) {
      if (err instanceof NoSuchKey || (err as { name?: unknown }).name === 'NoSuchKey') return null
      throw err
    }
  }

  let stopping: Promise<void> | undefined
  function stop (): Promise<void> {
    stopping ??= (async () => {
      client.destroy()
      const closed = server.close()
      // close() otherwise waits on keep-alive sockets held by fetch or by a gateway's own S3 client.
      server.httpServer?.closeAllConnections()
      try {
        await closed
      } finally {
        await rm(directory, { recursive: true, force: true })
      }
    })()
    return stopping
  }
  t.teardown(stop)

  return {
    endpoint,
    bucket,
    region,
    accessKeyId: ACCESS_KEY_ID,
    secretAccessKey: SECRET_ACCESS_KEY,
    client,
    listKeys,
    getObject,
    stop
  }
}
