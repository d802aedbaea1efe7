// The real entry point as `npm start` runs it: configuration errors, the banner, shutdown.
// Runs the compiled server (npm test builds it first, see "pretest").
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { outputLine, spawnServer } from '../helpers/gateway.js'
import { freePort } from '../helpers/ports.js'

t.test('a bad value exits 1 with one line naming the variable', async (t) => {
  for (const [env, name] of [[{ PORT: '70000' }, 'PORT'], [{ MAX_UPLOAD_BYTES: 'lots' }, 'MAX_UPLOAD_BYTES'], [{ REDIS_URL: 'redis://127.0.0.1:1' }, 'JWT_SECRET']] as const) {
    const server = spawnServer(t, env)
    const { code } = await server.exited
    const stderr = server.stderr()
    t.equal(code, 1, name)
    const lines = stderr.trim().split('\n')
    t.equal(lines.length, 1, stderr)
    t.match(lines[0], new RegExp(`^linkgate: invalid configuration: ${name} `))
  }
})

t.test('npm start on embedded defaults: the banner comes first and its token works; SIGTERM exits 0', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'linkgate-start-'))
  t.teardown(async () => { await rm(dataDir, { recursive: true, force: true }) })
  const port = await freePort()
  const server = spawnServer(t, { PORT: String(port), HOST: '127.0.0.1', DATA_DIR: dataDir, LOG_LEVEL: 'info' })
  const token = /export TOKEN=(\S+)/.exec(await outputLine(server, /export TOKEN=/))?.[1] ?? ''
  await outputLine(server, /Server listening/)
  const lines = server.stdout().split('\n')
  t.match(lines[0], `Linkgate starting on http://localhost:${port}`)
  t.ok(lines.some((l) => l.includes(`curl -H "Authorization: Bearer $TOKEN" -F file=@README.md 'http://localhost:${port}/v1/files?share=true'`)))
  t.ok(lines.findIndex((l) => l.includes('export TOKEN=')) < lines.findIndex((l) => l.startsWith('{')), 'the banner precedes the log lines')

  const body = new FormData()
  body.append('file', new Blob(['hi']), 'hi.txt')
  const res = await fetch(`http://127.0.0.1:${port}/v1/files?share=true`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body })
  t.equal(res.status, 201)
  t.match((await res.json() as { link: { url: string } }).link.url, `http://localhost:${port}/s/`)

  server.child.kill('SIGTERM')
  const { code } = await server.exited
  t.equal(code, 0)
})
