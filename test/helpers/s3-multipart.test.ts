// The test s3rver's ListParts, ListMultipartUploads and AbortMultipartUpload, through the SDK.
import { AbortMultipartUploadCommand, CompleteMultipartUploadCommand, CreateMultipartUploadCommand, ListPartsCommand, UploadPartCommand } from '@aws-sdk/client-s3'
import { createHash, randomBytes } from 'node:crypto'
import t from 'tap'
import { startS3 } from './s3.js'

const s3 = await startS3(t)
const Bucket = s3.bucket
const md5 = (data: Buffer): string => `"${createHash('md5').update(data).digest('hex')}"`

t.test('parts are listed in order with their sizes and ETags, then the upload completes', async (t) => {
  const Key = 'files/listed'
  const { UploadId } = await s3.client.send(new CreateMultipartUploadCommand({ Bucket, Key }))
  const one = randomBytes(5 * 1024 * 1024)
  const two = randomBytes(1000)
  await s3.client.send(new UploadPartCommand({ Bucket, Key, UploadId, PartNumber: 2, Body: two }))
  await s3.client.send(new UploadPartCommand({ Bucket, Key, UploadId, PartNumber: 1, Body: one }))
  const listed = await s3.client.send(new ListPartsCommand({ Bucket, Key, UploadId }))
  t.same(listed.Parts?.map((p) => [p.PartNumber, p.Size, p.ETag]), [[1, one.length, md5(one)], [2, two.length, md5(two)]])
  t.same(await s3.listUploads(), [Key])
  await s3.client.send(new CompleteMultipartUploadCommand({ Bucket, Key, UploadId, MultipartUpload: { Parts: listed.Parts?.map(({ PartNumber, ETag }) => ({ PartNumber, ETag })) } }))
  t.ok((await s3.getObject(Key))?.equals(Buffer.concat([one, two])))
  t.same(await s3.listUploads(), [])
  await t.rejects(s3.client.send(new ListPartsCommand({ Bucket, Key, UploadId })), { name: 'NoSuchUpload' }, 'a completed upload is gone')
})

t.test('an aborted upload is gone: its parts and the upload itself', async (t) => {
  const Key = 'files/aborted'
  const { UploadId } = await s3.client.send(new CreateMultipartUploadCommand({ Bucket, Key }))
  await s3.client.send(new UploadPartCommand({ Bucket, Key, UploadId, PartNumber: 1, Body: Buffer.from('some bytes') }))
  await s3.client.send(new AbortMultipartUploadCommand({ Bucket, Key, UploadId }))
  t.same(await s3.listUploads(), [])
  await t.rejects(s3.client.send(new ListPartsCommand({ Bucket, Key, UploadId })), { name: 'NoSuchUpload' })
  await t.rejects(s3.client.send(new AbortMultipartUploadCommand({ Bucket, Key, UploadId })), { name: 'NoSuchUpload' })
  t.equal(await s3.getObject(Key), null)
})
