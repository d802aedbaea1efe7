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

  class S3rver {
    constructor (options?: S3rverOptions)
    httpServer?: Server
    run (): Promise<AddressInfo>
    close (): Promise<void>
    reset (): void
  }

  export = S3rver
}
