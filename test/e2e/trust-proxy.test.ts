// TRUST_PROXY on the real server process with Redis: an X-Forwarded-For whose trusted entry
// is not an IP (markup, 8,000 characters) leaves the client at the socket's address in
// the audit log, the Redis budget keys and the request log; a valid address is used as before.
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import t, { type Test } from 'tap'
import { s3Env, startGateway } from '../helpers/gateway.js'
import { startRedis, type TestRedis } from '../helpers/redis.js'
import { startS3, type TestS3 } from '../helpers/s3.js'

const redis = await startRedis(t)
const s3 = await startS3(t)
const client = new Redis(redis.url)
t.teardown(async () => { await client.quit() })

const LONG = 'a'.repeat(8000)
const BAD = ['<script>', LONG, '203.0.113.7, <script>']
const GOOD = '203.0.113.7'
// The shape of a token, so that the request reaches the link store (and its budgets).
const UNKNOWN = '/s/AAAAAAAAAAAAAAAAAAAAAA'

/** Budget keys and audit events for one redemption per X-Forwarded-For value, behind `trustProxy`. */
async function redeemBehind (t: Test, deps: { redis: TestRedis, s3: TestS3, name: string }, trustProxy: string): Promise<{ keys: string[], ips: string[], output: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'linkgate-trust-'))
  t.teardown(async () => { await rm(dir, { recursive: true, force: true }) })
  const keyPrefix = `${deps.redis.keyPrefix}${deps.name}:`
  const auditLog = join(dir, 'audit.log')
  const gw = await startGateway(t, { REDIS_URL: deps.redis.url, REDIS_KEY_PREFIX: keyPrefix, ...s3Env(deps.s3), AUDIT_LOG: auditLog, TRUST_PROXY: trustProxy })
  for (const forwardedFor of [...BAD, GOOD]) {
    const res = await fetch(`${gw.base}${UNKNOWN}`, { headers: { 'x-forwarded-for': forwardedFor } })
    t.equal(res.status, 404, forwardedFor.slice(0, 40))
  }
  // The audit log is complete once the process has closed it.
  gw.child.kill('SIGTERM')
  await gw.exited
  const lines = (await readFile(auditLog, 'utf8')).trim().split('\n')
  const ips = lines.map((line) => (JSON.parse(line) as { event: string, ip: string })).filter((e) => e.event === 'link.denied').map((e) => e.ip)
  const keys = (await client.keys(`${keyPrefix}budget:*`)).map((key) => key.slice(keyPrefix.length)).sort()
  return { keys, ips, output: gw.output() }
}

for (const [name, trustProxy] of [['hops', '1'], ['list', '10.0.0.0/8, 127.0.0.1/32']] as const) {
  t.test(`TRUST_PROXY=${trustProxy}: an X-Forwarded-For that is not an IP gives the socket's address`, async (t) => {
    const { keys, ips, output } = await redeemBehind(t, { redis, s3, name }, trustProxy)
    t.same(ips, ['127.0.0.1', '127.0.0.1', '127.0.0.1', GOOD], 'the audit log has the socket address, then the valid forwarded one')
    t.same(keys, [
      'budget:miss:127.0.0.1', `budget:miss:${GOOD}`,
      'budget:redeem:127.0.0.1', `budget:redeem:${GOOD}`
    ], 'the budgets in Redis are keyed by the same addresses')
    t.notOk(output.includes('<script>') || output.includes(LONG.slice(0, 100)), 'the request log never had the header for an address')
    t.match(output, `"remoteAddress":"${GOOD}"`, 'the request log has the valid one')
  })
}
