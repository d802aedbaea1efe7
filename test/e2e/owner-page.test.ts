// The owner's page in a real browser (Debian's chromium, driven by playwright-core), against a
// real OpenID Provider (test/helpers/oidc.ts), Redis and s3rver: the owner signs in from the
// gateway's root, uploads a 50 MiB file through the page (tus), the network is taken offline
// mid-way and restored, the upload resumes by itself (the same upload, not a new one), the
// one-time link it made is shown with its QR code, and a second browser downloads the very
// bytes, once. No Content-Security-Policy violation on the way. Skipped, loudly, where
// chromium is not installed; .ci/run installs it so CI always runs this.
import { createHash, randomBytes } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Page, Request } from 'playwright-core'
import decodeQR from 'qr/decode.js'
import t from 'tap'
import { chromiumMissing, launchChromium } from '../helpers/chromium.js'
import { MiB, buildTestApp } from '../helpers/app.js'
import { gatewayOidc, startProvider } from '../helpers/oidc.js'
import { freePort } from '../helpers/ports.js'
import { startRedis } from '../helpers/redis.js'
import { startS3 } from '../helpers/s3.js'
import { withTimeout } from '../helpers/wait.js'

const TEST_NAME = "the owner's page: sign in, a 50 MiB upload that survives going offline, a one-time link, its QR code, the download"
const SIZE = 50 * MiB
/** The provider's dev login page links a web font and there is no network: never wait for `load`. */
const READY = { waitUntil: 'domcontentloaded' } as const

async function sha256 (file: string): Promise<string> {
  const hash = createHash('sha256')
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer)
  return hash.digest('hex')
}

/** Collects the page's Content-Security-Policy violations (none are expected). */
async function watchViolations (page: Page): Promise<string[]> {
  const violations: string[] = []
  page.on('console', (message) => { if (/Content Security Policy/i.test(message.text())) violations.push(message.text()) })
  await page.exposeFunction('reportViolation', (what: string) => { violations.push(what) })
  // Source text: it runs in the page, before the page's own scripts.
  await page.addInitScript("document.addEventListener('securitypolicyviolation', (e) => { window.reportViolation(e.violatedDirective + ' ' + e.blockedURI) })")
  return violations
}

/** The pixels of the page's QR code, drawn on a canvas of `size`² (RGBA). */
async function qrPixels (page: Page, size: number): Promise<{ width: number, height: number, data: Uint8ClampedArray }> {
  const data = await page.evaluate(`(async () => {
    const img = document.querySelector('img.qr')
    await img.decode()
    const canvas = document.createElement('canvas')
    canvas.width = canvas.height = ${size}
    const context = canvas.getContext('2d')
    context.imageSmoothingEnabled = false
    context.fillStyle = '#fff'
    context.fillRect(0, 0, ${size}, ${size})
    context.drawImage(img, 0, 0, ${size}, ${size})
    return Array.from(context.getImageData(0, 0, ${size}, ${size}).data)
  })()`) as number[]
  return { width: size, height: size, data: Uint8ClampedArray.from(data) }
}

const reason = chromiumMissing(t, 'THE OWNER\'S PAGE BROWSER TEST')
if (reason !== null) {
  t.test(TEST_NAME, { skip: reason }, () => {})
} else {
  t.test(TEST_NAME, async (t) => {
    // The provider registers the gateway's callback, so the gateway's port is chosen first.
    const port = await freePort()
    const gatewayUrl = `http://127.0.0.1:${port}`
    const provider = await startProvider(t, { gatewayUrl, users: { ann: { email: 'ann@example.com', email_verified: true, name: 'Ann' } } })
    const { app, auth } = await buildTestApp(t, { redis: await startRedis(t), s3: await startS3(t) }, {
      publicUrl: gatewayUrl,
      oidc: gatewayOidc(provider, { signIn: true }),
      session: { secrets: ['owner-page-e2e-session-secret-0123456789'], ttl: 3600 },
      maxUploadBytes: 64 * MiB
    })
    await app.listen({ host: '127.0.0.1', port })

    const dir = await mkdtemp(join(tmpdir(), 'linkgate-owner-page-'))
    t.teardown(async () => { await rm(dir, { recursive: true, force: true }) })
    const file = join(dir, 'holiday-video.bin')
    const bytes = randomBytes(SIZE)
    await writeFile(file, bytes)
    const digest = createHash('sha256').update(bytes).digest('hex')

    const browser = await launchChromium(t)
    const owner = await browser.newContext()
    t.teardown(async () => { await owner.close() })
    const page = await owner.newPage()
    const violations = await watchViolations(page)
    const uploads: Request[] = []
    page.on('request', (request) => { if (new URL(request.url()).pathname.startsWith('/v1/uploads')) uploads.push(request) })

    // Signing in from the root: its button, the provider's login page, and back.
    await page.goto(`${gatewayUrl}/`, READY)
    await page.getByRole('link', { name: 'Sign in' }).click()
    await page.locator('input[name="login"]').fill('ann')
    await page.locator('input[name="password"]').fill('any password will do')
    await Promise.all([page.waitForURL(`${gatewayUrl}/`, READY), page.getByRole('button', { name: 'Sign-in' }).click()])
    t.match(await page.locator('.account').textContent(), /Signed in as\s*ann@example\.com/, 'back at the root, signed in')
    await page.getByRole('heading', { name: 'Share files' }).waitFor()
    await page.getByText('None yet.').first().waitFor()

    // A one-time link for each upload.
    await page.getByLabel('Downloads', { exact: true }).fill('1')

    // The network goes away when the second chunk is on its way: that request is lost with it.
    let dropped!: () => void
    const droppedMidway = new Promise<void>((resolve) => { dropped = resolve })
    await owner.route('**/v1/uploads/**', async (route) => {
      const request = route.request()
      if (request.method() === 'PATCH' && request.headers()['upload-offset'] !== '0') {
        await owner.setOffline(true)
        await route.abort('internetdisconnected')
        dropped()
        return
      }
      await route.continue()
    }, { times: 3 })

    await page.getByLabel('Drop files here or choose files').setInputFiles(file)
    const item = page.locator('#uploads li').first()
    // An upload refused outright (no tus endpoint, a limit) says so at once, rather than as a timeout.
    const failed = item.getByText(/^Failed: /).waitFor({ timeout: 120_000 }).then(async () => { throw new Error(`the upload failed: ${await item.textContent() ?? ''}`) })
    failed.catch(() => {})
    await withTimeout('the connection dropped mid-way', Promise.race([droppedMidway, failed]), 120_000)
    await owner.unrouteAll()
    await item.getByText('Offline: the upload resumes when the network is back').waitFor({ timeout: 30_000 })
    t.match(await page.locator('#announce').textContent(), /holiday-video\.bin: offline/, 'said in the live region')
    const progress = Number(await item.locator('progress').getAttribute('value'))
    t.ok(progress > 0 && progress < 100, `offline mid-way, at ${progress} %`)

    await owner.setOffline(false)
    const link = item.locator('input.url')
    await link.waitFor({ timeout: 120_000 })
    t.equal(await item.locator('progress').getAttribute('value'), '100')
    const url = await link.inputValue()
    t.match(url, new RegExp(`^${gatewayUrl}/s/[A-Za-z0-9_-]{22}$`), 'the link, shown once')
    t.match(await item.textContent(), /1 of 1 downloads left/, 'a one-time link')

    const creations = uploads.filter((r) => r.method() === 'POST')
    t.equal(creations.length, 1, 'one upload, resumed: not started over')
    t.ok(uploads.some((r) => r.method() === 'HEAD'), 'it asked the gateway where to resume')

    const files = await app.inject({ url: '/v1/files', headers: { authorization: auth('ann') } })
    t.match(files.json().items, [{ filename: 'holiday-video.bin', size: SIZE, sha256: digest }], 'the gateway holds the very bytes')
    await page.getByText('holiday-video.bin: active').waitFor()

    await item.getByRole('button', { name: 'Show the QR code of the link' }).click()
    await page.locator('img.qr').waitFor()
    t.equal(decodeQR(await qrPixels(page, 360)), url, 'its QR code reads as the link')

    // Someone else, in a browser of their own.
    const friend = await browser.newContext({ acceptDownloads: true })
    t.teardown(async () => { await friend.close() })
    const other = await friend.newPage()
    await other.goto(url)
    t.equal(await other.locator('h1').textContent(), 'holiday-video.bin')
    const [download] = await Promise.all([other.waitForEvent('download'), other.getByRole('button', { name: 'Download' }).click()])
    t.equal(download.suggestedFilename(), 'holiday-video.bin')
    t.equal(await sha256(await download.path()), digest, 'the download is byte-exact')
    const again = await other.goto(url)
    t.equal(again?.status(), 404, 'and the link is used up')

    t.same(violations, [], 'no Content-Security-Policy violation')
  })
}
