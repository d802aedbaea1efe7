// A real browser (Debian's chromium, driven by playwright-core) opens a one-time link:
// it sees the page, clicks Download, gets the file with its name and bytes; a second
// visit shows the expired page. Skipped, loudly, where chromium is not installed;
// .ci/run installs it so CI always runs this.
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { buildTestApp } from './helpers/app.js'
import { startRedis } from './helpers/redis.js'
import { startS3 } from './helpers/s3.js'

const CHROMIUM = '/usr/bin/chromium'
const DOCS = join(import.meta.dirname, '..', 'docs')

if (!existsSync(CHROMIUM)) {
  const reason = `${CHROMIUM} not found: install Debian's chromium (apt-get install chromium) to run the browser test`
  // CI installs chromium (.ci/run), so there a missing browser is a failure, not a skip.
  if (process.env.CI === 'true') t.fail(reason)
  process.stderr.write(`\n*** SKIPPING THE BROWSER TEST: ${reason} ***\n\n`)
  t.test('a one-time link in a real browser', { skip: reason }, () => {})
} else {
  t.test('a one-time link in a real browser', async (t) => {
    const { chromium } = await import('playwright-core')
    const redis = await startRedis(t)
    const s3 = await startS3(t)
    const { app, auth } = await buildTestApp(t, { redis, s3 })
    await app.listen({ host: '127.0.0.1', port: 0 })
    const { port } = app.server.address() as AddressInfo

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
    const url = `http://127.0.0.1:${port}/s/${String(up.json().link.token)}`

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
}
