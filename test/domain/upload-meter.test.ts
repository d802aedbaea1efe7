import { createHash, randomBytes } from 'node:crypto'
import { Readable, Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import t from 'tap'
import { UploadMeter } from '../../src/domain/upload-meter.js'

const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex')

/** A sink that keeps every byte it is given. */
function collector (): { sink: Writable, received: () => Buffer } {
  const chunks: Buffer[] = []
  const sink = new Writable({
    write (chunk: Buffer, _encoding, callback) {
      chunks.push(chunk)
      callback()
    }
  })
  return { sink, received: () => Buffer.concat(chunks) }
}

t.test('passes bytes through unchanged, counts them and hashes them', async (t) => {
  const chunks = [randomBytes(1), randomBytes(1000), randomBytes(64 * 1024), randomBytes(7)]
  const data = Buffer.concat(chunks)
  const meter = new UploadMeter(10 * 1024 * 1024)
  const { sink, received } = collector()
  await pipeline(Readable.from(chunks), meter, sink)
  t.ok(received().equals(data), 'the same bytes, in order')
  t.equal(meter.bytes, data.length)
  t.equal(meter.sha256(), sha256(data))
})

t.test('counts bytes, not characters', async (t) => {
  const data = Buffer.from('ééé😀', 'utf8')
  const meter = new UploadMeter(100)
  const { sink, received } = collector()
  await pipeline(Readable.from([data]), meter, sink)
  t.equal(meter.bytes, 10)
  t.ok(received().equals(data))
  t.equal(meter.sha256(), sha256(data))
})

t.test('an empty stream is 0 bytes with the empty hash', async (t) => {
  const meter = new UploadMeter(1)
  const { sink, received } = collector()
  await pipeline(Readable.from([]), meter, sink)
  t.equal(meter.bytes, 0)
  t.equal(received().length, 0)
  t.equal(meter.sha256(), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855')
})

t.test('exactly at the limit passes', async (t) => {
  const chunks = [randomBytes(4), randomBytes(3), randomBytes(3)]
  const data = Buffer.concat(chunks)
  const meter = new UploadMeter(10)
  const { sink, received } = collector()
  await pipeline(Readable.from(chunks), meter, sink)
  t.equal(meter.bytes, 10)
  t.ok(received().equals(data))
  t.equal(meter.sha256(), sha256(data))
})

t.test('one byte over the limit fails with 413 LG_UPLOAD_TOO_LARGE', async (t) => {
  const meter = new UploadMeter(10)
  const { sink, received } = collector()
  const first = randomBytes(6)
  await t.rejects(pipeline(Readable.from([first, randomBytes(5)]), meter, sink), {
    statusCode: 413,
    code: 'LG_UPLOAD_TOO_LARGE',
    message: /10 bytes/
  })
  t.ok(received().equals(first), 'only the bytes within the limit went through')
  t.ok(meter.bytes > 10)
})

t.test('a single chunk over the limit passes nothing through', async (t) => {
  const meter = new UploadMeter(1024)
  const { sink, received } = collector()
  await t.rejects(pipeline(Readable.from([randomBytes(1025)]), meter, sink), { statusCode: 413, code: 'LG_UPLOAD_TOO_LARGE' })
  t.equal(received().length, 0)
})

t.test('a long stream over the limit stops', async (t) => {
  let produced = 0
  async function * endless (): AsyncGenerator<Buffer> {
    for (;;) {
      produced += 1024
      yield Buffer.alloc(1024, 1)
    }
  }
  const meter = new UploadMeter(100 * 1024)
  const { sink, received } = collector()
  await t.rejects(pipeline(Readable.from(endless()), meter, sink), { statusCode: 413, code: 'LG_UPLOAD_TOO_LARGE' })
  t.equal(received().length, 100 * 1024)
  t.ok(produced < 1024 * 1024, 'the source is not drained to the end')
})
