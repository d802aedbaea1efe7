// A real browser (Debian's chromium, driven by playwright-core): a one-time link is opened,
// its page seen, its file downloaded, and a second visit shows the expired page; an anonymous
// visitor uploads files through a file request's page, under its CSP; a script
// uploaded as a type browsers sniff and shared "inline" does not run on the storage
// origin; Swagger UI and the owner's page work under their Content-Security-Policy, and
// the owner's page by keyboard. Skipped, loudly, where chromium is not installed; .ci/run
// installs it so CI always runs this. `npm run docs:screenshots` (LINKGATE_SCREENSHOTS=1)
// writes the screenshots of docs/ from here.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { BrowserContext } from 'playwright-core'
import t, { type Test } from 'tap'
import type { SessionUser } from '../../src/session.js'
import { CHROMIUM, CHROMIUM_ARGS, chromiumMissing } from '../helpers/chromium.js'
import { buildTestApp } from '../helpers/app.js'
import { gatewayOidc, startProvider } from '../helpers/oidc.js'
import { freePort } from '../helpers/ports.js'
import { startRedis } from '../helpers/redis.js'
import { startS3 } from '../helpers/s3.js'
import { ROOT } from '../helpers/root.js'

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
    args: CHROMIUM_ARGS
  })
  t.teardown(async () => { await browser.close() })
  return browser
}

/** Writes `png` into docs/ under `name` when asked to (`npm run docs:screenshots`). */
async function keep (t: Test, name: string, png: Buffer): Promise<void> {
  t.ok(png.subarray(1, 4).equals(Buffer.from('PNG')), `${name} is a PNG`)
  if (process.env.LINKGATE_SCREENSHOTS === '1') await writeFile(join(DOCS, name), png)
}

/** The base URL of the app once it listens on a port of its own. */
async function listen (app: Awaited<ReturnType<typeof buildTestApp>>['app']): Promise<string> {
  await app.listen({ host: '127.0.0.1', port: 0 })
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
}

const reason = chromiumMissing(t, 'THE BROWSER TESTS')
if (reason !== null) {
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
    const screenshot = async (name: string): Promise<void> => { await keep(t, name, await page.screenshot()) }

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

  t.test('an anonymous visitor uploads through a file request\'s page, with progress, under its CSP', async (t) => {
    const redis = await startRedis(t)
    const s3 = await startS3(t)
    // The page's CSP names PUBLIC_URL's origin: the browser opens it there.
    const port = await freePort()
    const base = `http://127.0.0.1:${port}`
    const { app, auth } = await buildTestApp(t, { redis, s3 }, { publicUrl: base })
    await app.listen({ host: '127.0.0.1', port })
    const made = await app.inject({
      method: 'POST',
      url: '/v1/requests',
      headers: { authorization: auth('owner') },
      body: { ttl: 3600, maxFiles: 3, maxBytes: 20 * 1024 * 1024, password: 'open sesame', message: 'Please send the signed contract\nand the scans. <b>Thanks!</b>' }
    })
    t.equal(made.statusCode, 201)
    const { id, token } = made.json() as { id: string, token: string }

    const page = await (await launch(t)).newPage()
    const violations: string[] = []
    page.on('console', (message) => { if (/Content Security Policy|Refused to/i.test(message.text())) violations.push(message.text()) })
    await page.exposeFunction('reportViolation', (what: string) => { violations.push(what) })
    await page.addInitScript("document.addEventListener('securitypolicyviolation', (e) => { window.reportViolation(e.violatedDirective + ' ' + e.blockedURI) })")
    const response = await page.goto(`${base}/r/${token}`)
    t.equal(response?.status(), 200)
    t.match(response?.headers()['content-security-policy'], `script-src ${base}/assets/;`)
    t.equal(await page.locator('.message').textContent(), 'Please send the signed contract\nand the scans. <b>Thanks!</b>', 'the message, as text')
    t.equal(await page.locator('.message b').count(), 0, 'never as markup')
    if (process.env.LINKGATE_SCREENSHOTS === '1') await writeFile(join(DOCS, 'request-page.png'), await page.screenshot())

    await page.fill('#password', 'not the one')
    await page.setInputFiles('#file', [{ name: 'first try.txt', mimeType: 'text/plain', buffer: Buffer.from('nope') }])
    await page.locator('#status', { hasText: 'Wrong password' }).waitFor()

    const big = Buffer.alloc(3 * 1024 * 1024, 7)
    await page.fill('#password', 'open sesame')
    await page.setInputFiles('#file', [
      { name: 'contract ✓.txt', mimeType: 'text/plain', buffer: Buffer.from('signed') },
      { name: 'scan.bin', mimeType: 'application/octet-stream', buffer: big }
    ])
    await page.locator('#sent li').nth(1).waitFor()
    t.same(await page.locator('#sent li').allTextContents(), ['contract ✓.txt: received (6 bytes)', `scan.bin: received (${big.length} bytes)`])

    const files = (await app.inject({ url: '/v1/files', headers: { authorization: auth('owner') } })).json().items as Array<{ id: string, filename: string, request?: string }>
    t.same(files.map((f) => [f.filename, f.request]).sort(), [['contract ✓.txt', id], ['scan.bin', id]], 'both in the owner\'s files, from the request')
    const scan = files.find((f) => f.filename === 'scan.bin')
    t.ok((await s3.getObject(`files/${scan?.id ?? ''}`))?.equals(big), 'byte for byte')
    t.same(violations, [], 'no CSP violation')
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

  t.test("the owner's page: its script runs under its policy with no violation, works by keyboard, shows a new link's QR code", async (t) => {
    const port = await freePort()
    const base = `http://127.0.0.1:${port}`
    const provider = await startProvider(t, { gatewayUrl: base })
    const { app, auth } = await buildTestApp(t, { redis: await startRedis(t), s3: await startS3(t) }, {
      publicUrl: base,
      oidc: gatewayOidc(provider, { signIn: true }),
      session: { secrets: ['browser-test-session-secret-0123456789abc'], ttl: 3600 }
    })
    await app.listen({ host: '127.0.0.1', port })
    const owner = auth('ann')
    const upload = async (filename: string, body: string): Promise<string> => {
      const res = await app.inject({ method: 'POST', url: `/v1/files?filename=${encodeURIComponent(filename)}`, headers: { authorization: owner, 'content-type': 'text/plain' }, body })
      t.equal(res.statusCode, 201)
      return String(res.json().id)
    }
    const share = async (fileId: string, options: object): Promise<string> => {
      const res = await app.inject({ method: 'POST', url: `/v1/files/${fileId}/links`, headers: { authorization: owner }, payload: options })
      t.equal(res.statusCode, 201)
      return String(res.json().id)
    }
    const minutes = await upload('Board minutes 2026-11.txt', 'Present: everyone.\n')
    await share(minutes, { maxDownloads: 3, password: 'open sesame' })
    const revoked = await share(minutes, { access: 'authenticated' })
    t.equal((await app.inject({ method: 'DELETE', url: `/v1/links/${revoked}`, headers: { authorization: owner } })).statusCode, 204)
    await share(await upload('Budget <draft> & "notes".txt', 'Numbers.\n'), { access: { groups: ['finance'] } })
    await upload('Quarterly report.txt', 'The numbers, at last.\n')
    const asked = await app.inject({ method: 'POST', url: '/v1/requests', headers: { authorization: owner }, payload: { ttl: 7 * 86_400, maxFiles: 5, maxBytes: 100 * 1024 * 1024, message: 'The signed contract, please' } })
    t.equal(asked.statusCode, 201)

    // Signed in as the gateway's sign-in would have left the browser.
    const user: SessionUser = { sub: 'ann', groups: ['finance'], email: 'ann@example.com', csrf: 'browser-test-csrf-token-0123456789abcdefghi' }
    const sealed = app.encodeSecureSession(app.createSecureSession({ user, __ts: Math.round(Date.now() / 1000) }), 'session')
    const browser = await launch(t)
    await browser.addCookies([{ name: 'lg_session', value: encodeURIComponent(sealed), url: base }])
    const page = await browser.newPage()
    await page.setViewportSize({ width: 800, height: 600 })
    const violations: string[] = []
    page.on('console', (message) => { if (/Content Security Policy/i.test(message.text())) violations.push(message.text()) })
    page.on('pageerror', (error) => { violations.push(`script error: ${error.message}`) })
    await page.exposeFunction('reportViolation', (what: string) => { violations.push(what) })
    await page.addInitScript("document.addEventListener('securitypolicyviolation', (e) => { window.reportViolation(e.violatedDirective + ' ' + e.blockedURI) })")

    const response = await page.goto(`${base}/`)
    t.equal(response?.status(), 200)
    const files = page.locator('#file-list li')
    await files.nth(2).waitFor()
    t.equal(await files.count(), 3, 'the files, listed by the script')
    t.equal(await files.first().locator('.name').textContent(), 'Quarterly report.txt', 'newest first')
    t.equal(await files.nth(1).locator('.name').textContent(), 'Budget <draft> & "notes".txt', 'a name is text, never markup')
    const links = page.locator('#link-list li')
    await links.nth(2).waitFor()
    t.match(await links.allTextContents(), [/Budget <draft> & "notes"\.txt: active.*only group finance/, /Board minutes 2026-11\.txt: revoked/, /Board minutes.*: active.*3 of 3 downloads left.*password/])
    t.equal(await links.nth(1).getByRole('button').count(), 0, 'a revoked link offers nothing')
    const requests = page.locator('#request-list li')
    await requests.first().waitFor()
    t.equal(await page.locator('#request-list-status').textContent(), '', 'no error, nothing "loading"')
    t.match(await requests.first().textContent(), /The signed contract, please: active.*0 of 5 files.*0 bytes of 100\.0 MiB/, 'and the file requests')

    // Keyboard: Tab reaches the drop zone's file input, and Space opens the file chooser.
    // (Awaited from before the first key: Playwright intercepts choosers only once it has been asked to.)
    const chooser = page.waitForEvent('filechooser')
    let focused = ''
    for (let i = 0; i < 20 && focused !== 'files'; i++) {
      await page.keyboard.press('Tab')
      focused = String(await page.evaluate('document.activeElement && document.activeElement.id'))
    }
    t.equal(focused, 'files', 'the drop zone is reached by Tab')
    t.equal(await page.evaluate("getComputedStyle(document.getElementById('drop')).outlineStyle"), 'solid', 'and shows where the focus is')
    await page.keyboard.press('Space')
    t.ok((await chooser).isMultiple(), 'Space opens the file chooser, for several files')

    // A new link to a file listed, with the options of the form, and its QR code.
    await page.getByLabel('Downloads', { exact: true }).fill('5')
    await page.getByLabel('Who may open it').selectOption('authenticated')
    await page.getByRole('button', { name: 'New link to Quarterly report.txt' }).click()
    const made = page.locator('#uploads li').first()
    await made.locator('input.url').waitFor()
    t.match(await made.locator('input.url').inputValue(), new RegExp(`^${base}/s/[A-Za-z0-9_-]{22}$`))
    t.match(await made.textContent(), /5 of 5 downloads left · anyone signed in/)
    t.equal(await page.evaluate('document.activeElement.className'), 'url', 'the focus moves to the new link')
    await made.getByRole('button', { name: 'Show the QR code of the link' }).click()
    await page.locator('img.qr').waitFor()
    t.equal(await page.evaluate("document.querySelector('img.qr').naturalWidth > 0"), true, 'the QR code is drawn')
    t.match(await page.locator('#announce').textContent(), /A new link to Quarterly report\.txt/)
    await page.locator('#link-list li').nth(3).waitFor()
    await keep(t, 'owner-page.png', await page.screenshot({ fullPage: true }))

    // WCAG AA: every text shown has a contrast of at least 4.5:1 with what is behind it.
    const lowContrast = await page.evaluate(`(() => {
      const luminance = (color) => {
        const [r, g, b] = color.match(/[\\d.]+/g).slice(0, 3).map((v) => { v = Number(v) / 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4 })
        return 0.2126 * r + 0.7152 * g + 0.0722 * b
      }
      const background = (node) => {
        for (let e = node; e !== null; e = e.parentElement) {
          const color = getComputedStyle(e).backgroundColor
          const parts = color.match(/[\\d.]+/g)
          if (parts.length < 4 || Number(parts[3]) > 0) return color
        }
        return 'rgb(255, 255, 255)'
      }
      const low = []
      for (const node of document.querySelectorAll('body *')) {
        if (node.getClientRects().length === 0 || ![...node.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim() !== '')) continue
        const [a, b] = [luminance(getComputedStyle(node).color), luminance(background(node))]
        const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05)
        if (ratio < 4.5) low.push(node.tagName + ' "' + node.textContent.trim().slice(0, 40) + '" ' + ratio.toFixed(2))
      }
      return low
    })()`)
    t.same(lowContrast, [], 'every text has a contrast of 4.5:1 or more')
    t.same(violations, [], 'no Content-Security-Policy violation, no script error')
  })
}
