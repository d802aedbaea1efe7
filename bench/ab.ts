// A/B for the redemption path: the gateway of another checkout (the baseline) against this
// one's, under the same load in the same run, rounds alternating, beside the Redis floor.
// On a shared machine two separate `npm run bench` runs drift by ±10 %; side by side, with
// enough rounds, a change of a few percent shows. An A/A run (the baseline at HEAD) shows
// what is noise: with 2 rounds of 2 s, identical trees came out 11 % apart.
//
//   git worktree add /tmp/linkgate-base HEAD~1
//   (cd /tmp/linkgate-base && ln -s "$OLDPWD/node_modules" && npx tsc)
//   BENCH_AB_BASELINE=/tmp/linkgate-base npm run bench:ab
//
// Settings: BENCH_AB_BASELINE (a checkout with a built dist/), BENCH_SECONDS=3 per run,
// BENCH_ROUNDS=8, BENCH_CONNECTIONS=32. Both gateways share one redis-server and s3rver,
// each with a link of its own. The report (Markdown) goes to stdout, progress to stderr.
import { stat } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { AUTHORIZATION, Gateway, ROOT, cpuSeconds, intSetting, seedLink, startFloor, startStores } from './infra.js'
import { load } from './redeem.js'
import { median, num, ratio, roundRatios, table } from './report.js'

const baseline = resolve(process.env.BENCH_AB_BASELINE ?? '')
const seconds = intSetting('BENCH_SECONDS', 3, 1, 600)
const rounds = intSetting('BENCH_ROUNDS', 8, 1, 100)
const connections = intSetting('BENCH_CONNECTIONS', 32, 1, 1024)
const progress = (line: string): void => { process.stderr.write(`[bench:ab] ${line}\n`) }

interface Target { name: string, url: string, pid: number, rps: number[], p50: number[], p99: number[], cpu: number[], redisCpu: number[] }

const stops: Array<() => Promise<void>> = []
try {
  if (process.env.BENCH_AB_BASELINE === undefined) throw new Error('BENCH_AB_BASELINE must name the baseline checkout (with a built dist/)')
  await stat(join(baseline, 'dist', 'src', 'server.js')).catch(() => { throw new Error(`${baseline}/dist/src/server.js is missing: build the baseline first (npx tsc)`) })
  const { tmp, redis, s3 } = await startStores('linkgate-ab-', (stop) => { stops.push(stop) })

  const targets: Target[] = []
  let location = ''
  for (const [name, root] of [['baseline', baseline], ['this tree', ROOT]] as const) {
    const gateway = await Gateway.start({ redisUrl: redis.url, s3, auditLog: join(tmp, `audit-${targets.length}.log`), nodeArgs: [], root })
    stops.push(() => gateway.stop())
    const seeded = await seedLink(gateway, AUTHORIZATION)
    location = seeded.location
    targets.push({ name: `${name} (${root})`, url: seeded.url, pid: gateway.pid, rps: [], p50: [], p99: [], cpu: [], redisCpu: [] })
  }
  const floor = await startFloor('redis', redis.url, location)
  stops.push(() => floor.child.stop())
  targets.push({ name: 'floor: Redis GET + 302', url: `${floor.base}/s/${'x'.repeat(22)}`, pid: floor.child.pid, rps: [], p50: [], p99: [], cpu: [], redisCpu: [] })

  for (const target of targets) await load(target.url, connections, 2)
  for (let round = 0; round < rounds; round++) {
    for (const target of round % 2 === 0 ? targets : [...targets].reverse()) {
      const [cpu0, redis0] = [await cpuSeconds(target.pid), await cpuSeconds(redis.child.pid)]
      const result = await load(target.url, connections, seconds)
      const [cpu1, redis1] = [await cpuSeconds(target.pid), await cpuSeconds(redis.child.pid)]
      if (result.bad > 0) throw new Error(`${target.name}: ${result.bad} answers were not 2xx/3xx (${result.statuses})`)
      const requests = result.rps * seconds
      target.rps.push(result.rps)
      target.p50.push(result.p50)
      target.p99.push(result.p99)
      target.cpu.push((cpu1 - cpu0) * 1e6 / requests)
      target.redisCpu.push((redis1 - redis0) * 1e6 / requests)
      progress(`round ${round + 1}/${rounds} ${target.name}: ${num(result.rps)} req/s, p99 ${num(result.p99, 2)} ms`)
    }
  }

  const floorTarget = targets[2] as Target
  const rows = targets.map((t) => [
    t.name,
    num(median(t.rps)),
    ratio(median(roundRatios(t.rps, floorTarget.rps)), 1),
    num(median(t.p50), 2),
    num(median(t.p99), 2),
    ratio(median(roundRatios(t.p99, floorTarget.p99)), 1),
    num(median(t.cpu), 1),
    num(median(t.redisCpu), 1)
  ])
  process.stdout.write([
    `# Redemption A/B (${connections} connections, ${rounds} rounds × ${seconds} s, alternating, median; ÷ floor: the median of the rounds' ratios)`,
    '',
    table(['target', 'req/s', '÷ floor', 'p50 ms', 'p99 ms', 'p99 ÷ floor', 'server CPU µs/req', 'Redis CPU µs/req'], rows),
    ''
  ].join('\n'))
} catch (err) {
  process.exitCode = 1
  progress(`failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`)
} finally {
  for (const stop of stops.reverse()) await stop().catch((err: unknown) => { progress(`cleanup: ${String(err)}`) })
}
