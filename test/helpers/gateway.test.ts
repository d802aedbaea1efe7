// The one way the tests run the compiled server (npm test builds it first, see "pretest").
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { listening, outputLine, spawnServer, startGateway, type ServerProcess } from './gateway.js'

async function dataDir (t: Test): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'linkgate-helper-'))
  t.teardown(async () => { await rm(dir, { recursive: true, force: true }) })
  return dir
}

t.test('spawnServer: the server runs until its test is over, then it is stopped', async (t) => {
  const dir = await dataDir(t)
  let server: ServerProcess | undefined
  await t.test('a test that starts a server and leaves it running', async (t) => {
    server = spawnServer(t, { HOST: '127.0.0.1', PORT: '0', DATA_DIR: dir, LOG_LEVEL: 'info' })
    const base = await listening(server)
    t.equal((await fetch(`${base}/healthz`)).status, 200, 'it answers')
    t.equal(server.child.exitCode, null, 'running while its test is')
  })
  if (server === undefined) throw new Error('the subtest did not start the server')
  t.equal(server.child.exitCode ?? server.child.signalCode, 0, 'stopped at teardown (SIGTERM), and it exited 0')
  t.match(server.output(), /Server listening/, 'its output is kept after the end')
})

t.test('spawnServer: only the environment it is given, and the exit code', async (t) => {
  // No JWT_SECRET with Redis: a configuration error, whatever the machine's environment holds.
  const server = spawnServer(t, { REDIS_URL: 'redis://127.0.0.1:1' })
  const { code } = await server.exited
  t.equal(code, 1)
  t.match(server.stderr(), /^linkgate: invalid configuration: JWT_SECRET /)
  t.equal(server.stdout(), '')
})

t.test('outputLine: a line already written, one still to come, and a process that exits without it', async (t) => {
  const gateway = await startGateway(t, { DATA_DIR: await dataDir(t) })
  t.match(await outputLine(gateway, /Server listening/), /Server listening at http:\/\/127\.0\.0\.1:\d+/, 'at once, when it is already there')
  const draining = outputLine(gateway, /"msg":"draining/)
  gateway.child.kill('SIGTERM')
  t.match(JSON.parse(await draining), { msg: /^draining/ }, 'a whole line, when it comes')
  await t.rejects(outputLine(gateway, /never written/), /the server exited without writing \/never written\//)
})

t.test('listening: a server that exits before it listens is an error with its output', async (t) => {
  const server = spawnServer(t, { PORT: '70000' })
  await t.rejects(listening(server), /exited without writing[^]*invalid configuration: PORT/)
})
