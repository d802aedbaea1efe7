// The tus client helpers, against @tus/server's own server on a local directory.
import { FileStore } from '@tus/file-store'
import { Server } from '@tus/server'
import { randomBytes } from 'node:crypto'
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { cutSocket, interruptAt, tusUpload, type TusFailure } from './tus.js'

const dir = await mkdtemp(join(tmpdir(), 'linkgate-tus-helper-'))
t.teardown(async () => { await rm(dir, { recursive: true, force: true }) })
const server = new Server({ path: '/files', datastore: new FileStore({ directory: dir }) }).listen(0, '127.0.0.1')
await new Promise<void>((resolve) => { server.once('listening', resolve) })
t.teardown(async () => { server.closeAllConnections(); await new Promise((resolve) => { server.close(resolve) }) })
const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/files`

t.test('tusUpload runs an upload to its end; interruptAt with cutSocket cuts it, and it resumes', async (t) => {
  const data = randomBytes(48 * 1024 * 1024)
  const cut = interruptAt(data.length / 4, cutSocket)
  const failed = await tusUpload(data, { endpoint, ...cut }).then(() => null, (err: TusFailure) => err)
  t.ok(cut.happened(), 'interrupted once')
  t.match(failed?.url, /^http:\/\/127\.0\.0\.1:\d+\/files\/\w+$/, 'the failure carries the upload URL')
  const { url, response } = await tusUpload(data, { uploadUrl: failed?.url ?? '' })
  t.equal(url, failed?.url)
  t.equal(response.getStatus(), 204)
  const id = url.split('/').pop() ?? ''
  t.ok((await readFile(join(dir, id))).equals(data), 'byte-exact')
  t.ok((await readdir(dir)).includes(`${id}.json`))
})
