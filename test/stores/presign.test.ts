// The gateway's own SigV4 presigner: byte for byte the SDK's URL for the same request and
// time, valid for the independent verifier, and following credential rotation. Signing is
// local computation: no request leaves the process (the endpoints below are never dialled).
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3'
import { getSignedUrl } from '@aws-sdk/s3-request-presigner'
import t from 'tap'
import { contentDisposition } from '../../src/domain/content-disposition.js'
import type { SignedUrlOptions } from '../../src/stores/object-store.js'
import { S3ObjectStore } from '../../src/stores/s3-object-store.js'
import { S3GetPresigner, escapeUri, type SigningCredentials } from '../../src/stores/sigv4.js'
import { verifyPresignedUrl } from '../helpers/sigv4.js'

const MiB = 1024 * 1024
const KEY = 'files/été (1)!\'*~ x+y.txt'
const FILENAME = 'quarterly "report" – final (v2).pdf'
const AT = Date.UTC(2026, 10, 28, 23, 59, 59)

interface Endpoint { name: string, endpoint?: string, forcePathStyle: boolean, region: string }
const ENDPOINTS: Endpoint[] = [
  { name: 'path-style, custom endpoint with a port', endpoint: 'http://127.0.0.1:9999', forcePathStyle: true, region: 'eu-west-3' },
  { name: 'virtual-hosted AWS', forcePathStyle: false, region: 'us-east-1' },
  { name: 'virtual-hosted AWS, another region', forcePathStyle: false, region: 'ap-southeast-2' }
]

function client (endpoint: Endpoint, credentials: SigningCredentials | (() => Promise<SigningCredentials & { expiration?: Date }>)): S3Client {
  // As the gateway's client for S3-compatible stores; with checksums on, the SDK would
  // also sign x-amz-checksum-mode=ENABLED, which a browser's download does not need.
  const c = new S3Client({ ...endpoint, credentials, requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' })
  t.teardown(() => { c.destroy() })
  return c
}

const sdkUrl = async (s3: S3Client, key: string, signingDate?: Date): Promise<string> => await getSignedUrl(s3, new GetObjectCommand({
  Bucket: 'bucket',
  Key: key,
  ResponseContentDisposition: contentDisposition(FILENAME, 'attachment'),
  ResponseContentType: 'application/pdf'
}), { expiresIn: 60, ...(signingDate === undefined ? {} : { signingDate }) })

/**
 * Origin, path and the query parameters in order: the SDK puts X-Amz-Signature among the
 * others, in sorted place; AWS's documentation, like the gateway, puts it last.
 */
const sorted = (href: string): string[] => {
  const url = new URL(href)
  return [`${url.origin}${url.pathname}`, ...url.search.slice(1).split('&').sort()]
}

for (const endpoint of ENDPOINTS) {
  for (const credentials of [
    { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' },
    { accessKeyId: 'ASIATEMPORARY', secretAccessKey: 'temporary/secret+=', sessionToken: 'FwoGZXIvYXdzE//session+token==' }
  ]) {
    t.test(`identical to the SDK's URL: ${endpoint.name}${credentials.sessionToken === undefined ? '' : ', with a session token'}`, async (t) => {
      const sdk = new URL(await sdkUrl(client(endpoint, credentials), KEY, new Date(AT)))
      const ours = new S3GetPresigner(endpoint.region).presign(credentials, {
        host: sdk.host,
        path: sdk.pathname,
        query: {
          'response-content-disposition': contentDisposition(FILENAME, 'attachment'),
          'response-content-type': 'application/pdf',
          'x-id': 'GetObject'
        },
        expiresIn: 60,
        now: AT
      })
      t.same(sorted(`${sdk.origin}${sdk.pathname}?${ours}`), sorted(sdk.href))
      t.equal(sdk.pathname.endsWith(`/files/${escapeUri('été (1)!\'*~ x+y.txt')}`), true, 'the key is RFC 3986-encoded')
      const check = verifyPresignedUrl(sdk.href, { secretAccessKey: credentials.secretAccessKey, now: new Date(AT) })
      t.equal(check.valid, true, check.reason ?? 'the independent verifier agrees')
    })
  }
}

t.test('the signing key is per day: a URL signed just after midnight uses the new day', async (t) => {
  const presigner = new S3GetPresigner('eu-west-3')
  const credentials = { accessKeyId: 'AKID', secretAccessKey: 'secret' }
  const request = { host: 'h:1', path: '/b/k', query: {}, expiresIn: 60 }
  for (const now of [AT, AT + 1000, AT]) {
    const url = `http://h:1/b/k?${presigner.presign(credentials, { ...request, now })}`
    const check = verifyPresignedUrl(url, { secretAccessKey: 'secret', now: new Date(now) })
    t.equal(check.valid, true, check.reason ?? `valid at ${new Date(now).toISOString()}`)
    t.equal(check.params.get('X-Amz-Credential')?.split('/')[1], new Date(now).toISOString().slice(0, 10).replaceAll('-', ''))
  }
  t.not(
    verifyPresignedUrl(`http://h:1/b/k?${presigner.presign({ accessKeyId: 'AKID', secretAccessKey: 'rotated' }, { ...request, now: AT })}`, { secretAccessKey: 'secret', now: new Date(AT) }).valid,
    true, 'a new secret on the same day is not signed with the cached key of the old one')
})

t.test('S3ObjectStore.signedUrl: within one second the same request is the same URL (as signing it again would be); anything else signs anew', async (t) => {
  // The SDK asks the provider again on each call only for credentials that expire within
  // 5 minutes; these do, but outlive the URLs.
  const expiration = new Date(Date.now() + 120_000)
  const second = Math.floor(Date.now() / 1000) * 1000
  let now = second
  let credentials: SigningCredentials & { expiration: Date } = { accessKeyId: 'AKID', secretAccessKey: 'secret', expiration }
  const store = new S3ObjectStore({ client: client(ENDPOINTS[0] as Endpoint, async () => credentials), bucket: 'bucket', maxObjectBytes: MiB, now: () => now })
  /** What a store that has signed nothing yet signs for the same request at the same time. */
  const fresh = async (key: string, options: SignedUrlOptions): Promise<string> =>
    await new S3ObjectStore({ client: client(ENDPOINTS[0] as Endpoint, credentials), bucket: 'bucket', maxObjectBytes: MiB, now: () => now }).signedUrl(key, options)
  const base: SignedUrlOptions = { filename: 'a.txt', contentType: 'text/plain', disposition: 'attachment', expiresIn: 60 }

  const first = await store.signedUrl('files/a', base)
  t.equal(first, await fresh('files/a', base))
  now = second + 999
  t.equal(await store.signedUrl('files/a', base), first, 'later in the same second: the same bytes')
  for (const [what, options] of [
    ['another filename', { ...base, filename: 'b.txt' }],
    ['another content type', { ...base, contentType: 'text/csv' }],
    ['another disposition', { ...base, disposition: 'inline' }],
    ['another lifetime', { ...base, expiresIn: 30 }]
  ] satisfies Array<[string, SignedUrlOptions]>) {
    const url = await store.signedUrl('files/a', options)
    t.equal(url, await fresh('files/a', options), `${what}: its own URL`)
    t.not(url, first)
  }
  t.equal(await store.signedUrl('files/b', base), await fresh('files/b', base), 'another object: its own URL')
  now = second + 1000
  const next = await store.signedUrl('files/a', base)
  t.equal(next, await fresh('files/a', base), 'the next second signs with its own X-Amz-Date')
  t.not(next, first)
  credentials = { accessKeyId: 'AKID2', secretAccessKey: 'secret2', expiration }
  const rotated = await store.signedUrl('files/a', base)
  t.equal(rotated, await fresh('files/a', base), 'new credentials in the same second sign anew')
  t.equal(verifyPresignedUrl(rotated, { secretAccessKey: 'secret2', now: new Date(now) }).valid, true)
})

t.test('S3ObjectStore.signedUrl follows rotated credentials and never outlives them', async (t) => {
  // The SDK refreshes credentials that expire within 5 minutes on every call, so each URL
  // below asks the provider again and sees what it hands out now.
  let current: SigningCredentials & { expiration?: Date } = { accessKeyId: 'OLD', secretAccessKey: 'old-secret', expiration: new Date(Date.now() + 30_000) }
  const store = new S3ObjectStore({ client: client(ENDPOINTS[0] as Endpoint, async () => current), bucket: 'bucket', maxObjectBytes: MiB })
  const options = { filename: 'a.txt', contentType: 'text/plain', disposition: 'attachment' as const, expiresIn: 60 }

  const first = verifyPresignedUrl(await store.signedUrl('files/a', options), { secretAccessKey: 'old-secret' })
  t.equal(first.valid, true, first.reason ?? 'signed with the credentials of the moment')
  t.equal(first.accessKeyId, 'OLD')
  t.ok(first.expiresIn <= 30 && first.expiresIn >= 28, `capped at the credentials' expiry (${first.expiresIn} s)`)

  current = { accessKeyId: 'NEW', secretAccessKey: 'new-secret', sessionToken: 'token', expiration: new Date(Date.now() + 240_000) }
  const second = verifyPresignedUrl(await store.signedUrl('files/a', options), { secretAccessKey: 'new-secret' })
  t.equal(second.valid, true, second.reason ?? 'signed with the rotated credentials')
  t.equal(second.accessKeyId, 'NEW')
  t.equal(second.params.get('X-Amz-Security-Token'), 'token')
  t.equal(second.expiresIn, 60)

  current = { accessKeyId: 'GONE', secretAccessKey: 'expired', expiration: new Date(Date.now() - 1000) }
  await t.rejects(store.signedUrl('files/a', options), { statusCode: 503, code: 'LG_DEPENDENCY_UNAVAILABLE' }, 'expired credentials sign nothing')
})

t.test('S3ObjectStore.signedUrl is the SDK\'s URL but for the signing time', async (t) => {
  for (const endpoint of ENDPOINTS) {
    const s3 = client(endpoint, { accessKeyId: 'AKID', secretAccessKey: 'secret' })
    const store = new S3ObjectStore({ client: s3, bucket: 'bucket', maxObjectBytes: MiB })
    const ours = new URL(await store.signedUrl(KEY, { filename: FILENAME, contentType: 'application/pdf', disposition: 'attachment', expiresIn: 60 }))
    const sdk = new URL(await sdkUrl(s3, KEY, new Date(Number(new Date(ours.searchParams.get('X-Amz-Date')?.replace(/(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z/, '$1-$2-$3T$4:$5:$6Z') ?? '')))))
    t.same(sorted(ours.href), sorted(sdk.href), endpoint.name)
  }
})

t.test('S3ObjectStore with a publicEndpoint: the SDK\'s URL for a client on that endpoint, signed for its host', async (t) => {
  const credentials = { accessKeyId: 'AKID', secretAccessKey: 'secret' }
  for (const [name, inside, outside] of [
    ['path-style (compose: minio:9000 inside, localhost:9000 outside)', { endpoint: 'http://minio:9000', forcePathStyle: true }, { endpoint: 'http://localhost:9000', forcePathStyle: true }],
    ['virtual-hosted, behind a public name with a path', { endpoint: 'http://10.0.0.5:9000', forcePathStyle: false }, { endpoint: 'https://files.example.com/s3', forcePathStyle: false }]
  ] as const) {
    const store = new S3ObjectStore({ client: client({ name, ...inside, region: 'eu-west-3' }, credentials), bucket: 'bucket', maxObjectBytes: MiB, publicEndpoint: outside.endpoint })
    const ours = new URL(await store.signedUrl(KEY, { filename: FILENAME, contentType: 'application/pdf', disposition: 'attachment', expiresIn: 60 }))
    const signedAt = new Date(Number(new Date(ours.searchParams.get('X-Amz-Date')?.replace(/(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z/, '$1-$2-$3T$4:$5:$6Z') ?? '')))
    const sdk = new URL(await sdkUrl(client({ name, ...outside, region: 'eu-west-3' }, credentials), KEY, signedAt))
    t.same(sorted(ours.href), sorted(sdk.href), name)
    t.equal(await store.downloadOrigin(), ours.origin, `${name}: the pages' form-action`)
    t.not(ours.host, new URL(inside.endpoint).host)
    const check = verifyPresignedUrl(ours.href, { secretAccessKey: 'secret' })
    t.equal(check.valid, true, check.reason ?? `${name}: verifies for ${ours.host}`)
  }
})

t.test('S3ObjectStore without credentials: where downloads go is known all the same; signing is a 503', async (t) => {
  let asked = 0
  const store = new S3ObjectStore({
    client: client(ENDPOINTS[0] as Endpoint, async () => {
      asked++
      throw Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' })
    }),
    bucket: 'bucket',
    maxObjectBytes: MiB
  })
  t.equal(await store.downloadOrigin(), 'http://127.0.0.1:9999')
  t.equal(asked, 0, 'no credentials were asked for')
  await t.rejects(store.signedUrl('files/a', { filename: 'a.txt', contentType: 'text/plain', disposition: 'attachment', expiresIn: 60 }), { statusCode: 503, code: 'LG_DEPENDENCY_UNAVAILABLE' })
})
