// s3rver ships no types; only the surface the test helpers use is declared.
declare module 's3rver' {
  import type { AddressInfo } from 'node:net'
  import type { Server } from 'node:http'

  interface S3rverBucketConfig {
    name: string
    configs?: Array<string | Buffer>
  }

  interface S3rverOptions {
    address?: string
    port?: number
    silent?: boolean
    directory?: string
    resetOnClose?: boolean
    allowMismatchedSignatures?: boolean
    vhostBuckets?: boolean
    serviceEndpoint?: string
    configureBuckets?: S3rverBucketConfig[]
  }

  /** Koa's context, as far as the multipart listing (s3-multipart.ts) reads and writes it. */
  interface S3rverContext {
    method: string
    path: string
    query: Record<string, string | string[] | undefined>
    status: number
    type: string
    body: unknown
  }

  class S3rver {
    constructor (options?: S3rverOptions)
    /** Koa's middleware list, composed when run() starts the server. */
    middleware: Array<(ctx: S3rverContext, next: () => Promise<void>) => Promise<void>>
    httpServer?: Server
    run (): Promise<AddressInfo>
    close (): Promise<void>
    reset (): void
  }

  export = S3rver
}
