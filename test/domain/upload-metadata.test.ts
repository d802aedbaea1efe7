import t from 'tap'
import { uploadOptions } from '../../src/domain/upload-metadata.js'

t.test('the keys POST /v1/files takes, checked and typed', async (t) => {
  t.same(uploadOptions({ filename: 'C:\\fakepath\\a b.txt', filetype: 'text/plain; charset=utf-8', share: 'true', ttl: '3600', maxDownloads: '5', retention: '60' }),
    { filename: 'a b.txt', contentType: 'text/plain; charset=utf-8', share: true, ttl: 3600, maxDownloads: 5, retention: 60 })
  t.same(uploadOptions(), { filename: 'upload', contentType: 'application/octet-stream', share: false, ttl: undefined, maxDownloads: undefined, retention: undefined }, 'nothing: the defaults')
  t.same(uploadOptions({ filetype: 'not a type' }).contentType, 'application/octet-stream', 'a malformed type is the default, as for POST /v1/files')
})

t.test("Uppy's own keys: name and type stand in for filename and filetype, relativePath is ignored", async (t) => {
  t.match(uploadOptions({ name: 'photo.jpg', type: 'image/jpeg', relativePath: null }), { filename: 'photo.jpg', contentType: 'image/jpeg' })
  t.match(uploadOptions({ filename: 'kept.jpg', name: 'other.jpg', filetype: 'image/png', type: 'image/jpeg' }), { filename: 'kept.jpg', contentType: 'image/png' })
})

t.test('an unknown key or a bad value is a 400, never dropped', async (t) => {
  const refused: Array<Record<string, string | null>> = [
    { maxDownload: '1' },
    { owner: 'alice' },
    { share: 'yes' },
    { share: null },
    { ttl: '0' },
    { ttl: '-1' },
    { ttl: '1.5' },
    { ttl: '1e3' },
    { ttl: null },
    { maxDownloads: '1000001' },
    { retention: '315360001' },
    { retention: '99999999999999999' }
  ]
  for (const metadata of refused) t.throws(() => uploadOptions(metadata), { statusCode: 400, code: 'LG_BAD_METADATA' }, JSON.stringify(metadata))
  t.throws(() => uploadOptions({ a: '1', b: '2' }), { message: /Unknown Upload-Metadata keys a, b/ })
})
