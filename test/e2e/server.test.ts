// The real entry point as `npm start` runs it: configuration errors, the banner, shutdown.
// Runs the compiled server (npm test builds it first, see "pretest").
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import t from 'tap'
import { SERVER_ENTRY, freePort } from '../helpers/gateway.js'

function start (env: Record<string, string>): ReturnType<typeof spawn> {
  // Only what the test sets, so the machine's own environment cannot leak in.
  return spawn(process.execPath, [SERVER_ENTRY], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
}

async function exitOf (child: ReturnType<typeof spawn>): Promise<{ code: number | null, stderr: string }> {
  let stderr = ''
  child.stderr?.on('data', (c: Buffer) => { stderr += c.toString() })
  const [code] = await once(child, 'exit') as [number | null]
  return { code, stderr }
}

t.test('a bad value exits 1 with one line naming the variable', async (t) => {
  for (const [env, name] of [[{ PORT: '70000' }, 'PORT'], [{ MAX_UPLOAD_BYTES: 'lots' }, 'MAX_UPLOAD_BYTES'], [{ REDIS_URL: 'redis://127.0.0.1:1' }, 'JWT_SECRET']] as const) {
    const { code, stderr } = await exitOf(start(env))
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
  const child = start({ PORT: String(port), HOST: '127.0.0.1', DATA_DIR: dataDir, LOG_LEVEL: 'info' })
  const exited = exitOf(child)
  const lines: string[] = []
  let token = ''
  let listening = false
  for await (const line of createInterface({ input: child.stdout as NodeJS.ReadableStream })) {
    lines.push(line)
    token ||= /export TOKEN=(\S+)/.exec(line)?.[1] ?? ''
    if (line.includes('Server listening')) listening = true
    if (listening && token !== '') break
  }
  t.match(lines[0], `Linkgate starting on http://localhost:${port}`)
  t.ok(lines.some((l) => l.includes(`curl -H "Authorization: Bearer $TOKEN" -F file=@README.md 'http://localhost:${port}/v1/files?share=true'`)))
  t.ok(lines.findIndex((l) => l.includes('export TOKEN=')) < lines.findIndex((l) => l.startsWith('{')), 'the banner precedes the log lines')

  const body = new FormData()
  body.append('file', new Blob(['hi']), 'hi.txt')
  const res = await fetch(`http://127.0.0.1:${port}/v1/files?share=true`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body })
  t.equal(res.status, 201)
  t.match((await res.json() as { link: { url: string } }).link.url, `http://localhost:${port}/s/`)

  child.kill('SIGTERM')
  const { code } = await exited
  t.equal(code, 0)
})
