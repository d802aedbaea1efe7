// `npm run token` (dist/src/cli/token.js): the token it prints is accepted by a gateway with
// the same JWT_SECRET, it expires when asked, and a lifetime it cannot read (or an option
// where the user id goes) is an error.
import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { buildTestApp, TEST_JWT_SECRET } from '../helpers/app.js'
import { ROOT } from '../helpers/root.js'

const TOKEN_CLI = join(ROOT, 'dist', 'src', 'cli', 'token.js')
const run = async (...args: string[]): Promise<{ code: number, stdout: string, stderr: string }> =>
  await promisify(execFile)(process.execPath, [TOKEN_CLI, ...args], { env: { PATH: process.env.PATH ?? '', JWT_SECRET: TEST_JWT_SECRET } })
    .then(({ stdout, stderr }) => ({ code: 0, stdout, stderr }), (err: { code: number, stdout: string, stderr: string }) => ({ code: err.code, stdout: err.stdout, stderr: err.stderr }))

t.test('the token is accepted, and expires when asked', async (t) => {
  const { app } = await buildTestApp(t)
  const made = await run('alice', '90m')
  t.equal(made.code, 0)
  const token = made.stdout.trim()
  const claims = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as { sub: string, iat: number, exp: number }
  t.equal(claims.sub, 'alice')
  t.equal(claims.exp - claims.iat, 5400)
  t.equal((await app.inject({ url: '/v1/files', headers: { authorization: `Bearer ${token}` } })).statusCode, 200)
})

t.test('a lifetime it cannot read is an error, not a token of another lifetime', async (t) => {
  for (const ttl of ['forever', '1w', '0', '-5m', '1.5h']) {
    const made = await run('alice', ttl)
    t.equal(made.code, 1, ttl)
    t.equal(made.stdout, '', `${ttl}: no token`)
    t.match(made.stderr, /the lifetime must be a whole number with s, m, h or d/, ttl)
  }
})

t.test('an option is not a user id: --help prints the usage, not a token for "--help"', async (t) => {
  for (const arg of ['--help', '-h']) {
    const made = await run(arg)
    t.equal(made.code, 1, arg)
    t.equal(made.stdout, '', `${arg}: no token`)
    t.match(made.stderr, /^usage: /, arg)
  }
})
