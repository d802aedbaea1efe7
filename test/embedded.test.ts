// The embedded mode end to end over a real socket: memory links, local disk, gateway-signed URLs.
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { buildTestApp, testConfig } from './helpers/app.js'
import { buildApp } from '../src/app.js'

const config = await testConfig(t, {})
const probe = await buildApp(config)
await probe.listen({ host: '127.0.0.1', port: 0 })
const { port } = probe.server.address() as AddressInfo
await probe.close()

// PUBLIC_URL must name the listening port, since the local store's URLs point back at it.
const { app, auth } = await buildTestApp(t, {}, { publicUrl: `http://127.0.0.1:${port}`, dataDir: config.dataDir })
await app.listen({ host: '127.0.0.1', port })
const base = `http://127.0.0.1:${port}`

t.test('upload, share, redeem and download with no Redis and no S3', async (t) => {
  const body = new FormData()
  body.append('file', new Blob(['embedded bytes'], { type: 'text/csv' }), 'données "2026".csv')
  const up = await fetch(`${base}/v1/files?share=true&maxDownloads=1`, { method: 'POST', headers: { authorization: auth() }, body })
  t.equal(up.status, 201)
  const file = await up.json() as { id: string, link: { url: string } }
  t.match(file, { filename: 'données "2026".csv', contentType: 'text/csv', size: 14 })

  const redirect = await fetch(file.link.url, { redirect: 'manual' })
  t.equal(redirect.status, 302)
  const location = String(redirect.headers.get('location'))
  t.ok(location.startsWith(`${base}/o/files/${file.id}?`))
  const download = await fetch(location)
  t.equal(download.status, 200)
  t.equal(await download.text(), 'embedded bytes')
  t.equal(download.headers.get('content-type'), 'text/csv')
  t.equal(download.headers.get('content-disposition'), 'attachment; filename="donn_es _2026_.csv"; filename*=UTF-8\'\'donn%C3%A9es%20%222026%22.csv')

  t.equal((await fetch(file.link.url, { redirect: 'manual' })).status, 404, 'maxDownloads: 1 is spent')

  const tampered = new URL(location)
  tampered.searchParams.set('cd', 'inline')
  const refused = await fetch(tampered)
  t.equal(refused.status, 403)
  t.match(await refused.json(), { code: 'LG_BAD_SIGNATURE' })
  t.equal((await fetch(`${base}/o/files/${file.id}`)).status, 400, 'unsigned')
})

t.test('health and readiness', async (t) => {
  t.same(await (await fetch(`${base}/healthz`)).json(), { status: 'ok' })
  const ready = await fetch(`${base}/readyz`)
  t.equal(ready.status, 200)
  t.same(await ready.json(), { status: 'ready', checks: { linkStore: 'ok', objectStore: 'ok' } })
  const missing = await fetch(`${base}/nope`)
  t.equal(missing.status, 404)
  t.match(await missing.json(), { code: 'LG_ROUTE_NOT_FOUND' })
})
