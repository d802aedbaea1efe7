// Linkgate benchmark: redemption against two floors, streaming uploads against a direct
// lib-storage upload, and presigning in isolation, all measured in one run.
//
// How to run (needs redis-server on PATH, like the tests):
//   npm run bench
//   BENCH_SECONDS=3 BENCH_ROUNDS=1 BENCH_UPLOAD_MIB=64,256 npm run bench   # a quick pass
// `npm run bench` compiles the gateway and bench/ (tsc; the output goes to dist/bench)
// and runs dist/bench/run.js. The report (Markdown) goes to stdout, progress to stderr.
//
// Settings (environment):
//   BENCH_SECONDS=5          seconds per autocannon run
//   BENCH_ROUNDS=3           rounds; every target is measured once per round, in rotating
//                            order, and the median over rounds is reported
//   BENCH_CONNECTIONS=32     autocannon connections
//   BENCH_UPLOAD_MIB=256,1024  upload sizes in MiB
//   BENCH_UPLOAD_TIMEOUT=600 seconds one upload may take
//   BENCH_PRESIGN_N=20000    presigned URLs per variant and round
//   BENCH_ONLY=redeem,upload,presign  the parts to run
//   BENCH_GATEWAY_NODE_ARGS  node options for the gateway process, space-separated, e.g.
//                            "--cpu-prof --cpu-prof-dir=/tmp/linkgate-prof" (one profile
//                            per gateway process, written when it stops)
//   BENCH_GATEWAY_ENV        NAME=value pairs, space-separated, set over the gateway's
//                            environment, e.g. "LOG_LEVEL=info" (the default level, which
//                            logs two lines a request) or "MALLOC_ARENA_MAX=1"
//
// Everything it starts listens on 127.0.0.1 and is stopped at the end: a redis-server and
// an s3rver (in this process) on free ports with their data in a temporary directory, the
// gateway as `node dist/src/server.js` (LOG_LEVEL=warn, AUDIT_LOG to a temporary file,
// rate limits at 10^9 so that they count but never refuse), and the two floor servers
// (dist/bench/floor.js).
import { readFile, stat } from 'node:fs/promises'
import { cpus, release, totalmem } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import { AUTHORIZATION, Gateway, MiB, ROOT, cpuSeconds, intSetting, procStatusKiB, seedLink, settle, startFloor, startStores, type BenchRedis, type BenchS3, type GatewayEnv } from './infra.js'
import { PRESIGN_VARIANTS, Presigner, type PresignVariant } from './presign.js'
import { load, type LoadResult } from './redeem.js'
import { median, mib, num, percent, ratio, roundRatios, table } from './report.js'
import { PART_SIZE, QUEUE_SIZE, directUpload, gatewayUpload, newPattern, s3Client, type GatewayMode, type UploadTiming } from './upload.js'

// ---------------------------------------------------------------- settings

function listSetting (name: string, fallback: string): string[] {
  return (process.env[name]?.trim() || fallback).split(',').map((s) => s.trim()).filter((s) => s !== '')
}

function words (name: string): string[] {
  return (process.env[name] ?? '').split(/\s+/).filter((w) => w !== '')
}

const PARTS = ['redeem', 'upload', 'presign'] as const
const settings = {
  seconds: intSetting('BENCH_SECONDS', 5, 1, 600),
  rounds: intSetting('BENCH_ROUNDS', 3, 1, 50),
  connections: intSetting('BENCH_CONNECTIONS', 32, 1, 1024),
  uploadMiB: listSetting('BENCH_UPLOAD_MIB', '256,1024').map((s) => {
    const n = Number(s)
    if (!Number.isInteger(n) || n < 1 || n > 65_536) throw new Error(`BENCH_UPLOAD_MIB must list sizes from 1 to 65536 MiB (got ${JSON.stringify(s)})`)
    return n
  }),
  uploadTimeout: intSetting('BENCH_UPLOAD_TIMEOUT', 600, 10, 7200),
  presignN: intSetting('BENCH_PRESIGN_N', 20_000, 100, 10_000_000),
  only: listSetting('BENCH_ONLY', PARTS.join(',')).map((s) => {
    if (!(PARTS as readonly string[]).includes(s)) throw new Error(`BENCH_ONLY must list some of ${PARTS.join(', ')} (got ${JSON.stringify(s)})`)
    return s
  }),
  gatewayNodeArgs: words('BENCH_GATEWAY_NODE_ARGS'),
  gatewayEnv: Object.fromEntries(words('BENCH_GATEWAY_ENV').map((pair) => {
    const at = pair.indexOf('=')
    if (at < 1) throw new Error(`BENCH_GATEWAY_ENV must be NAME=value pairs (got ${JSON.stringify(pair)})`)
    return [pair.slice(0, at), pair.slice(at + 1)]
  }))
}

const progress = (line: string): void => { process.stderr.write(`[bench] ${line}\n`) }

/** `items` rotated left by `n`: round r starts with a different target each time. */
const rotate = <T>(items: readonly T[], n: number): T[] => items.map((_, i) => items[(i + n) % items.length] as T)

// ---------------------------------------------------------------- lifecycle

const cleanups: Array<() => Promise<void>> = []
let cleaning: Promise<void> | undefined
function cleanupAll (): Promise<void> {
  cleaning ??= (async () => {
    for (const fn of cleanups.reverse()) await fn().catch((err: unknown) => { progress(`cleanup: ${String(err)}`) })
  })()
  return cleaning
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => { cleanupAll().finally(() => process.exit(130)) })
}

interface Cpu { self: number, pids: Map<number, number>, at: bigint }
async function cpuMark (pids: number[]): Promise<Cpu> {
  const usage = process.cpuUsage()
  const entries = await Promise.all(pids.map(async (pid) => [pid, await cpuSeconds(pid)] as const))
  return { self: (usage.user + usage.system) / 1e6, pids: new Map(entries), at: process.hrtime.bigint() }
}
/** CPU share (1 = one core) of this process and of each pid between `before` and now. */
async function cpuShare (before: Cpu): Promise<{ self: number, of: (pid: number) => number }> {
  const after = await cpuMark([...before.pids.keys()])
  const wall = Number(after.at - before.at) / 1e9
  return {
    self: (after.self - before.self) / wall,
    of: (pid) => ((after.pids.get(pid) ?? Number.NaN) - (before.pids.get(pid) ?? Number.NaN)) / wall
  }
}

// ---------------------------------------------------------------- 1. redemption

interface RedeemSample extends LoadResult { serverCpu: number, redisCpu: number, clientCpu: number, redisCalls: Map<string, number> }

/** Calls per Redis command so far (INFO commandstats). */
async function redisCalls (client: Redis): Promise<Map<string, number>> {
  const info = await client.info('commandstats')
  return new Map([...info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)].map((m) => [m[1] as string, Number(m[2])]))
}

function callsBetween (before: Map<string, number>, after: Map<string, number>): Map<string, number> {
  // The INFO call itself is not the target's.
  return new Map([...after].map(([cmd, n]) => [cmd, n - (before.get(cmd) ?? 0) - (cmd === 'info' ? 1 : 0)] as const).filter(([, n]) => n > 0))
}

async function redeemBench (env: GatewayEnv, redis: BenchRedis): Promise<string> {
  const gateway = await Gateway.start(env)
  cleanups.push(() => gateway.stop())
  const { link, url, location } = await seedLink(gateway, AUTHORIZATION)
  progress(`link ${link.id}: access ${link.access}, maxDownloads ${String(link.maxDownloads)}; Location is ${location.length} characters`)

  const fixed = await startFloor('static', redis.url, location)
  cleanups.push(() => fixed.child.stop())
  const withRedis = await startFloor('redis', redis.url, location)
  cleanups.push(() => withRedis.child.stop())
  const targets = [
    { name: 'gateway', url, pid: gateway.pid },
    { name: 'floor: fixed 302', url: `${fixed.base}/s/${link.token}`, pid: fixed.child.pid },
    { name: 'floor: Redis GET + 302', url: `${withRedis.base}/s/${link.token}`, pid: withRedis.child.pid }
  ]

  const { seconds, rounds, connections } = settings
  const warmup = Math.min(2, seconds)
  for (const target of targets) {
    progress(`warm-up ${target.name} (${warmup} s)`)
    await load(target.url, connections, warmup)
  }
  const stats = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 })
  await stats.connect()
  cleanups.push(async () => { stats.disconnect() })
  const samples = new Map<string, RedeemSample[]>(targets.map((t) => [t.name, []]))
  for (let round = 0; round < rounds; round++) {
    for (const target of rotate(targets, round)) {
      const calls = await redisCalls(stats)
      const before = await cpuMark([target.pid, redis.child.pid])
      const result = await load(target.url, connections, seconds)
      const cpu = await cpuShare(before)
      const redisCallsDelta = callsBetween(calls, await redisCalls(stats))
      samples.get(target.name)?.push({ ...result, serverCpu: cpu.of(target.pid), redisCpu: cpu.of(redis.child.pid), clientCpu: cpu.self, redisCalls: redisCallsDelta })
      progress(`round ${round + 1}/${rounds} ${target.name}: ${num(result.rps)} req/s, p50 ${num(result.p50, 2)} ms, p99 ${num(result.p99, 2)} ms, ${result.statuses}${result.bad > 0 ? `, ${result.bad} FAILED` : ''}`)
    }
  }

  const counted = await fetch(`${gateway.base}/v1/links/${link.id}`, { headers: { authorization: AUTHORIZATION }, signal: AbortSignal.timeout(10_000) })
  const downloads = (await counted.json() as { downloads: number }).downloads
  const seen = (samples.get('gateway') ?? []).reduce((sum, s) => sum + s.ok, 0)
  await Promise.all([fixed.child.stop(), withRedis.child.stop(), gateway.stop()])
  stats.disconnect()

  const med = (name: string, pick: (s: RedeemSample) => number): number => median((samples.get(name) ?? []).map(pick))
  const bad = targets.reduce((sum, t) => sum + (samples.get(t.name) ?? []).reduce((s, x) => s + x.bad, 0), 0)
  if (bad > 0) process.exitCode = 1
  // Per completed request; requests still in flight when a run stops make this a shade high.
  const perRequest = (s: RedeemSample, n: number): number => n / Math.max(1, s.ok + s.bad)
  const total = (m: Map<string, number>): number => [...m.values()].reduce((a, b) => a + b, 0)
  const rows = targets.map((t) => [
    t.name,
    num(med(t.name, (s) => s.rps)),
    num(med(t.name, (s) => s.p50), 2),
    num(med(t.name, (s) => s.p99), 2),
    num(med(t.name, (s) => s.serverCpu * 1e6 / s.rps)),
    percent(med(t.name, (s) => s.serverCpu)),
    percent(med(t.name, (s) => s.redisCpu)),
    percent(med(t.name, (s) => s.clientCpu)),
    num(med(t.name, (s) => perRequest(s, total(s.redisCalls))), 1),
    num((samples.get(t.name) ?? []).reduce((sum, s) => sum + s.bad, 0))
  ])
  const gatewayCalls = new Map<string, number>()
  for (const s of samples.get('gateway') ?? []) for (const [cmd, n] of s.redisCalls) gatewayCalls.set(cmd, (gatewayCalls.get(cmd) ?? 0) + n)
  const gatewayRequests = (samples.get('gateway') ?? []).reduce((sum, s) => sum + s.ok + s.bad, 0)
  const breakdown = [...gatewayCalls].sort((a, b) => b[1] - a[1]).map(([cmd, n]) => `${cmd} ${num(n / gatewayRequests, 2)}`).join(', ')
  const perRound = (name: string, pick: (s: RedeemSample) => number): number[] =>
    roundRatios((samples.get('gateway') ?? []).map(pick), (samples.get(name) ?? []).map(pick))
  const ratios = targets.slice(1).map((t) => {
    const rps = perRound(t.name, (s) => s.rps)
    const p99 = perRound(t.name, (s) => s.p99)
    return [`gateway / ${t.name}`, ratio(median(rps), 1), rps.map((r) => num(r, 2)).join(', '), ratio(median(p99), 1), p99.map((r) => num(r, 2)).join(', ')]
  })
  return [
    `## 1. Redemption: \`GET /s/:token\`, public unlimited link → 302 (${connections} connections, ${rounds} × ${seconds} s, median of rounds)`,
    '',
    table(['target', 'req/s', 'p50 ms', 'p99 ms', 'server CPU µs/req', 'server CPU', 'redis CPU', 'autocannon CPU', 'Redis cmds/req', 'not 2xx/3xx'], rows),
    '',
    table(['ratio (median of the rounds\' ratios)', 'req/s', 'each round', 'p99', 'each round'], ratios),
    '',
    `CPU: 100 % = one core; "server CPU µs/req" is the server process's CPU time per answered request. Redis commands per gateway redemption (INFO commandstats, which counts the commands a Lua script runs as well as the script call, evalsha): ${breakdown}.`,
    `Downloads the gateway counted on the link: ${num(downloads)} (autocannon saw ${num(seen)} redirects in the measured rounds; warm-up and requests in flight at the end of a run make up the rest).` +
      (bad > 0 ? `\n**${bad} answers were not 2xx/3xx or failed: see the progress lines.**` : '')
  ].join('\n')
}

// ---------------------------------------------------------------- 2. uploads

type UploadPath = GatewayMode | 'direct'
interface UploadSample { mibps: number, gatewayCpu: number, benchCpu: number, hwmStartKiB: number, hwmKiB: number }

async function uploadBench (env: GatewayEnv, s3: BenchS3): Promise<string> {
  const pattern = newPattern()
  const client = s3Client(s3)
  cleanups.push(async () => { client.destroy() })
  const paths: UploadPath[] = ['raw', 'multipart', 'direct']
  const timeoutMs = settings.uploadTimeout * 1000
  const samples = new Map<string, UploadSample[]>()
  const keyOf = (size: number, path: UploadPath): string => `${size}:${path}`
  let gateway: Gateway | undefined
  cleanups.push(async () => { await gateway?.stop() })
  /** A failed upload says what the gateway logged about it. */
  const uploadThrough = async (through: Gateway, path: GatewayMode, bytes: number): Promise<UploadTiming> => {
    try {
      return await gatewayUpload(through.base, AUTHORIZATION, path, bytes, pattern, timeoutMs)
    } catch (err) {
      throw new Error(`${(err as Error).message}\nthe gateway's last output:\n${through.child.output}`, { cause: err })
    }
  }

  for (let round = 0; round < settings.rounds; round++) {
    for (const size of settings.uploadMiB) {
      for (const path of rotate(paths, round)) {
        const bytes = size * MiB
        let sample: UploadSample
        if (path === 'direct') {
          const before = await cpuMark([])
          const { seconds } = await directUpload(client, s3, `bench/direct-${round}-${size}`, bytes, pattern, timeoutMs)
          const cpu = await cpuShare(before)
          sample = { mibps: size / seconds, gatewayCpu: Number.NaN, benchCpu: cpu.self, hwmStartKiB: Number.NaN, hwmKiB: Number.NaN }
        } else {
          // A fresh gateway per upload: its VmHWM is then the peak of this upload alone.
          await gateway?.stop()
          gateway = await Gateway.start(env)
          const hwmStartKiB = await procStatusKiB(gateway.pid, 'VmHWM')
          const before = await cpuMark([gateway.pid])
          const { seconds } = await uploadThrough(gateway, path, bytes)
          const cpu = await cpuShare(before)
          sample = { mibps: size / seconds, gatewayCpu: cpu.of(gateway.pid), benchCpu: cpu.self, hwmStartKiB, hwmKiB: await procStatusKiB(gateway.pid, 'VmHWM') }
        }
        const list = samples.get(keyOf(size, path)) ?? []
        list.push(sample)
        samples.set(keyOf(size, path), list)
        progress(`round ${round + 1}/${settings.rounds} ${size} MiB ${path}: ${num(sample.mibps, 1)} MiB/s` +
          (path === 'direct' ? '' : `, gateway VmHWM ${mib(sample.hwmKiB)}`))
      }
    }
  }
  // Once per size and path, the same upload through a gateway that has settled after its
  // start-up (see settle()), with VmHWM reset: the peak of the upload alone, without the
  // start-up's garbage and grown young generation, which a long-running gateway has shed.
  const settled = new Map<string, { restKiB: number, hwmKiB: number }>()
  for (const size of settings.uploadMiB) {
    for (const path of ['raw', 'multipart'] as const) {
      await gateway?.stop()
      gateway = await Gateway.start(env)
      const restKiB = await settle(gateway.pid, 30_000)
      const { seconds } = await uploadThrough(gateway, path, size * MiB)
      const hwmKiB = await procStatusKiB(gateway.pid, 'VmHWM')
      settled.set(keyOf(size, path), { restKiB, hwmKiB })
      progress(`settled gateway, ${size} MiB ${path}: ${num(size / seconds, 1)} MiB/s, RSS at rest ${mib(restKiB)}, VmHWM ${mib(hwmKiB)}`)
    }
  }
  await gateway?.stop()
  gateway = undefined

  const med = (size: number, path: UploadPath, pick: (s: UploadSample) => number): number => median((samples.get(keyOf(size, path)) ?? []).map(pick))
  const peak = (size: number, path: UploadPath): number => Math.max(...(samples.get(keyOf(size, path)) ?? []).map((s) => s.hwmKiB))
  // Like the redemption's: the paths of a size run back to back in each round.
  const perRound = (size: number, path: UploadPath): number[] =>
    roundRatios((samples.get(keyOf(size, path)) ?? []).map((s) => s.mibps), (samples.get(keyOf(size, 'direct')) ?? []).map((s) => s.mibps))
  const rows = settings.uploadMiB.flatMap((size) => paths.map((path) => {
    const rounds = path === 'direct' ? [] : perRound(size, path)
    return [
      `${size} MiB ${path === 'direct' ? 'direct lib-storage → s3rver' : `gateway ${path}`}`,
      num(med(size, path, (s) => s.mibps), 1),
      path === 'direct' ? '' : ratio(median(rounds), 1),
      rounds.map((r) => num(r, 2)).join(', '),
      path === 'direct' ? '' : mib(peak(size, path)),
      path === 'direct' ? '' : percent(med(size, path, (s) => s.gatewayCpu)),
      percent(med(size, path, (s) => s.benchCpu))
    ]
  }))
  const peaks = (['raw', 'multipart'] as const).map((path) => [`gateway ${path}`, ...settings.uploadMiB.map((size) => mib(peak(size, path)))])
  peaks.push(['gateway just started (before the upload)', ...settings.uploadMiB.map((size) => mib(median(['raw', 'multipart'].flatMap((p) => (samples.get(keyOf(size, p as UploadPath)) ?? []).map((s) => s.hwmStartKiB)))))])
  for (const path of ['raw', 'multipart'] as const) {
    peaks.push([`gateway ${path}, settled first (one upload)`, ...settings.uploadMiB.map((size) => mib(settled.get(keyOf(size, path))?.hwmKiB ?? Number.NaN))])
  }
  peaks.push(['gateway settled (RSS before the upload)', ...settings.uploadMiB.map((size) => mib(Math.max(...(['raw', 'multipart'] as const).map((p) => settled.get(keyOf(size, p))?.restKiB ?? Number.NaN))))])
  return [
    `## 2. Upload: a stream of unknown length (chunked, no content-length), part size ${PART_SIZE / MiB} MiB, queue ${QUEUE_SIZE}, checksums WHEN_REQUIRED (${settings.rounds} round${settings.rounds > 1 ? 's' : ''}, median)`,
    '',
    table(['size and path', 'MiB/s', '÷ direct (median of the rounds\' ratios)', 'each round', 'gateway peak RSS', 'gateway CPU', 'bench process CPU'], rows),
    '',
    'Gateway peak RSS: VmHWM of a gateway process started fresh for each upload (max over rounds), which includes its start-up; and, once per size and path, of a gateway that first settled (V8 gave back what start-up left, as a long-running gateway has), VmHWM reset just before the upload:',
    '',
    table(['', ...settings.uploadMiB.map((s) => `${s} MiB`)], peaks),
    '',
    'The bench process runs the client that generates the bytes and s3rver itself (it receives every part, writes it to disk and joins the parts on completion); in the direct rows it also runs lib-storage.'
  ].join('\n')
}

// ---------------------------------------------------------------- 3. presigning

async function presignBench (s3: BenchS3): Promise<string> {
  const presigner = new Presigner(s3)
  cleanups.push(async () => { presigner.close() })
  const n = settings.presignN
  for (const variant of PRESIGN_VARIANTS) await presigner.measure(variant, Math.min(n, 2000), 10_000)
  const samples = new Map<PresignVariant, number[]>(PRESIGN_VARIANTS.map((v) => [v, []]))
  for (let round = 0; round < settings.rounds; round++) {
    for (const variant of rotate(PRESIGN_VARIANTS, round)) {
      const { usPerUrl, calls } = await presigner.measure(variant, n, 60_000)
      samples.get(variant)?.push(usPerUrl)
      progress(`round ${round + 1}/${settings.rounds} presign ${variant}: ${num(usPerUrl, 1)} µs/URL over ${num(calls)} calls`)
    }
  }
  const check = await presigner.compare()
  presigner.close()
  const bare = median(samples.get('getSignedUrl, bare') ?? [])
  const rows = PRESIGN_VARIANTS.map((v) => {
    const us = median(samples.get(v) ?? [])
    return [v, num(us, 1), num(1e6 / us), ratio(us, bare)]
  })
  return [
    `## 3. Presigning in isolation (in-process, ${num(n)} sequential URLs per variant and round, ${settings.rounds} round${settings.rounds > 1 ? 's' : ''}, median)`,
    '',
    table(['variant', 'µs / URL', 'URLs/s (one core)', '÷ bare'], rows),
    '',
    'S3ObjectStore.signedUrl is dist/src/stores/s3-object-store.js, as compiled from the working tree, signing a new object each call; "same object" asks for one object again and again, which the store signs once a second (X-Amz-Date counts seconds, so a second signature would be the same bytes); "same overrides" is the SDK\'s getSignedUrl for the GET the gateway signs (response-content-disposition and -type), "bare" without them.',
    `Check: the store's URL is ${check}.`
  ].join('\n')
}

// ---------------------------------------------------------------- main

async function version (pkg: string): Promise<string> {
  const text = await readFile(join(ROOT, 'node_modules', pkg, 'package.json'), 'utf8').catch(() => '{}')
  return (JSON.parse(text) as { version?: string }).version ?? '?'
}

async function main (): Promise<void> {
  await stat(join(ROOT, 'dist', 'src', 'server.js')).catch(() => { throw new Error('dist/src/server.js is missing: run `npm run bench` (it compiles first)') })
  const { tmp, redis, s3 } = await startStores('linkgate-bench-', (stop) => { cleanups.push(stop) })
  const env: GatewayEnv = { redisUrl: redis.url, s3, auditLog: join(tmp, 'audit.log'), nodeArgs: settings.gatewayNodeArgs, extraEnv: settings.gatewayEnv }
  progress(`redis-server ${redis.version} at ${redis.url}, s3rver at ${s3.endpoint}, data in ${tmp}`)

  const sections: string[] = []
  if (settings.only.includes('redeem')) sections.push(await redeemBench(env, redis))
  if (settings.only.includes('upload')) sections.push(await uploadBench(env, s3))
  if (settings.only.includes('presign')) sections.push(await presignBench(s3))

  const cpu = cpus()
  const machine = `${cpu[0]?.model.trim() ?? 'unknown CPU'} × ${cpu.length}, ${num(totalmem() / 1024 ** 3, 1)} GiB RAM, ${process.platform} ${release()}, Node ${process.version}`
  const tools = `redis-server ${redis.version}, s3rver ${await version('s3rver')}, autocannon ${await version('autocannon')}, fastify ${await version('fastify')}, @aws-sdk/lib-storage ${await version('@aws-sdk/lib-storage')}`
  const used = `BENCH_SECONDS=${settings.seconds} BENCH_ROUNDS=${settings.rounds} BENCH_CONNECTIONS=${settings.connections} BENCH_UPLOAD_MIB=${settings.uploadMiB.join(',')} BENCH_PRESIGN_N=${settings.presignN} BENCH_ONLY=${settings.only.join(',')}` +
    (settings.gatewayNodeArgs.length > 0 ? ` BENCH_GATEWAY_NODE_ARGS="${settings.gatewayNodeArgs.join(' ')}"` : '') +
    (Object.keys(settings.gatewayEnv).length > 0 ? ` BENCH_GATEWAY_ENV="${Object.entries(settings.gatewayEnv).map(([k, v]) => `${k}=${v}`).join(' ')}"` : '')
  process.stdout.write([
    '# Linkgate benchmark',
    '',
    `- machine: ${machine}`,
    `- software: ${tools}`,
    `- settings: ${used}`,
    '- everything on one machine over 127.0.0.1: load generator, gateway, Redis and s3rver share the CPUs',
    '',
    sections.join('\n\n'),
    ''
  ].join('\n'))
}

try {
  await main()
} catch (err) {
  process.exitCode = 1
  progress(`failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`)
} finally {
  await cleanupAll()
}
