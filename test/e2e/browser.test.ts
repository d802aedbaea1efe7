// A real browser (Debian's chromium, driven by playwright-core): a one-time link is opened,
// its page seen, its file downloaded, and a second visit shows the expired page; a script
// uploaded as a type browsers sniff and shared "inline" does not run on the storage
// origin; Swagger UI works under its Content-Security-Policy. Skipped, loudly, where
// chromium is not installed; .ci/run installs it so CI always runs this.
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { BrowserContext } from 'playwright-core'
import t, { type Test } from 'tap'
import { buildTestApp } from '../helpers/app.js'
import { startRedis } from '../helpers/redis.js'
import { startS3 } from '../helpers/s3.js'
import { ROOT } from '../helpers/root.js'

const CHROMIUM = '/usr/bin/chromium'
const DOCS = join(ROOT, 'docs')

/** A headless chromium with a profile of its own, closed on teardown. */
async function launch (t: Test): Promise<BrowserContext> {
  const { chromium } = await import('playwright-core')
  const profile = await mkdtemp(join(tmpdir(), 'linkgate-chromium-'))
  t.teardown(async () => { await rm(profile, { recursive: true, force: true }) })
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    acceptDownloads: true,
    viewport: { width: 720, height: 480 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run']
  })
  t.teardown(async () => { await browser.close() })
  return browser
}

/** The base URL of the app once it listens on a port of its own. */
async function listen (app: Awaited<ReturnType<typeof buildTestApp>>['app']): Promise<string> {
  await app.listen({ host: '127.0.0.1', port: 0 })
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
}

if (!existsSync(CHROMIUM)) {
  const reason = `${CHROMIUM} not found: install Debian's chromium (apt-get install chromium) to run the browser tests`
  // CI installs chromium (.ci/run), so there a missing browser is a failure, not a skip.
  if (process.env.CI === 'true') t.fail(reason)
  process.stderr.write(`\n*** SKIPPING THE BROWSER TESTS: ${reason} ***\n\n`)
  t.test('a one-time link in a real browser', { skip: reason }, () => {})
} else {
  t.test('a one-time link in a real browser', async (t) => {
    const redis = await startRedis(t)
    const s3 = await startS3(t)
    const { app, auth } = await buildTestApp(t, { redis, s3 })
    const base = await listen(app)

    // Chromium itself replaces characters Windows forbids (such as ") in download names.
    const filename = 'Quarterly report – final (v2) ✓.txt'
    const bytes = 'The numbers, at last.\n'
    const up = await app.inject({
      method: 'POST',
      url: `/v1/files?filename=${encodeURIComponent(filename)}&share=true&maxDownloads=1`,
      headers: { authorization: auth('owner'), 'content-type': 'text/plain' },
      body: bytes
    })
    t.equal(up.statusCode, 201)
    // The link as a person would get it, pointed at this test's server.
    const url = `${base}/s/${String(up.json().link.token)}`

    const browser = await launch(t)
    const page = await browser.newPage()
    const screenshot = async (name: string): Promise<void> => {
      const png = await page.screenshot()
      t.ok(png.subarray(1, 4).equals(Buffer.from('PNG')), `${name} is a PNG`)
      // `npm run docs:screenshots` refreshes the pictures the README shows.
      if (process.env.LINKGATE_SCREENSHOTS === '1') await writeFile(join(DOCS, name), png)
    }

    const first = await page.goto(url)
    t.equal(first?.status(), 200)
    t.equal(await page.locator('h1').textContent(), filename)
    t.match(await page.locator('dl').textContent(), /Downloads left\s*1/)
    await screenshot('download-page.png')

    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download' }).click()])
    t.equal(download.suggestedFilename(), filename)
    t.equal(await readFile(await download.path(), 'utf8'), bytes)

    const second = await page.goto(url)
    t.equal(second?.status(), 404)
    t.equal(await page.locator('h1').textContent(), 'This link does not work')
    await screenshot('expired-page.png')
  })

  t.test('a script uploaded as unknown/unknown and shared inline does not run on the storage origin', async (t) => {
    // The script, if it ran, would call this server: the first request to it settles `ran`.
    const watcher = createServer((_request, response) => { response.end() }).listen(0, '127.0.0.1')
    await once(watcher, 'listening')
    t.teardown(() => { watcher.close() })
    const ran = once(watcher, 'request').then(() => 'the script ran' as const)
    const beacon = `http://127.0.0.1:${(watcher.address() as AddressInfo).port}/ran`

    const s3 = await startS3(t)
    const { app, auth } = await buildTestApp(t, { s3 })
    const base = await listen(app)
    const script = `<script>document.title = 'ran'; new Image().src = '${beacon}'</script>`
    const up = await fetch(`${base}/v1/files?filename=notes`, { method: 'POST', headers: { authorization: auth('mallory'), 'content-type': 'unknown/unknown' }, body: script })
    t.equal(up.status, 201)
    const { id } = await up.json() as { id: string }
    const shared = await fetch(`${base}/v1/files/${id}/links`, {
      method: 'POST',
      headers: { authorization: auth('mallory'), 'content-type': 'application/json' },
      body: JSON.stringify({ disposition: 'inline' })
    })
    t.equal(shared.status, 201)
    const link = await shared.json() as { token: string, disposition: string }
    t.equal(link.disposition, 'attachment', 'the link says what it will do')

    const page = await (await launch(t)).newPage()
    const fromStore = page.waitForResponse((response) => response.url().startsWith(s3.endpoint))
    const download = page.waitForEvent('download')
    // Playwright rejects these once the page closes; the race below has decided by then.
    download.catch(() => {})
    // A navigation that turns into a download is aborted: that is the outcome awaited below.
    page.goto(`${base}/s/${link.token}`).catch(() => {})
    const outcome = await Promise.race([ran, download.then(() => 'a download' as const)])
    t.equal(outcome, 'a download', 'the browser downloads the bytes instead of running them')
    const response = await fromStore
    t.match(response.headers()['content-disposition'], /^attachment; filename="notes"/, 'the storage origin answered with an attachment')
    if (outcome === 'a download') t.equal(await readFile(await (await download).path(), 'utf8'), script, 'the very bytes, as a file')
    t.not(await page.title(), 'ran')
  })

  t.test('Swagger UI renders every operation under its Content-Security-Policy, with no violation', async (t) => {
    const { app } = await buildTestApp(t)
    const base = await listen(app)
    const openapi = (await app.inject({ url: '/openapi.json' })).json() as { paths: Record<string, Record<string, unknown>> }
    const operations = Object.values(openapi.paths).reduce((n, item) => n + Object.keys(item).length, 0)

    const page = await (await launch(t)).newPage()
    const violations: string[] = []
    page.on('console', (message) => { if (/Content Security Policy/i.test(message.text())) violations.push(message.text()) })
    await page.exposeFunction('reportViolation', (what: string) => { violations.push(what) })
    // Source text: it runs in the page, before the page's own scripts.
    await page.addInitScript("document.addEventListener('securitypolicyviolation', (e) => { window.reportViolation(e.violatedDirective + ' ' + e.blockedURI) })")
    const response = await page.goto(`${base}/docs/`)
    t.equal(response?.status(), 200)
    t.match(response?.headers()['content-security-policy'], /frame-ancestors 'none'/)
    t.equal(response?.headers()['x-content-type-options'], 'nosniff')
    await page.locator('.opblock').first().waitFor()
    t.equal(await page.locator('.opblock').count(), operations, `all ${operations} operations are listed`)
    await page.locator('.opblock-summary').first().click()
    await page.locator('.opblock-body').first().waitFor()
    t.same(violations, [], 'no CSP violation')
  })
}
