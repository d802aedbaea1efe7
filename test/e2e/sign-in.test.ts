// Browser sign-in in a real browser (Debian's chromium, driven by playwright-core) against a
// real OpenID Provider (test/helpers/oidc.ts): a link shared with a group is opened, the
// provider's login page signs the member in, the link's page names her, the file downloads,
// signing out ends both sessions and the next visit asks to sign in again; someone outside
// the group sees the refusal page. Skipped, loudly, where chromium is not installed;
// .ci/run installs it so CI always runs this.
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import type { Browser, Page } from 'playwright-core'
import t, { type Test } from 'tap'
import type { AuditEvent } from '../../src/audit.js'
import { buildTestApp } from '../helpers/app.js'
import { freePort } from '../helpers/ports.js'
import { gatewayOidc, startProvider, type TestProvider } from '../helpers/oidc.js'
import { startRedis } from '../helpers/redis.js'
import { startS3 } from '../helpers/s3.js'

const CHROMIUM = '/usr/bin/chromium'
const TEST_NAME = 'sign in at the provider, download, sign out; outside the group: refused'

/** A headless chromium, closed on teardown; each user gets a context (cookie jar) of their own. */
async function launch (t: Test): Promise<Browser> {
  const { chromium } = await import('playwright-core')
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run']
  })
  t.teardown(async () => { await browser.close() })
  return browser
}

/** The provider's dev login page links a web font and there is no network: never wait for `load`. */
const READY = { waitUntil: 'domcontentloaded' } as const

/** Whether `page` shows the provider's login page. */
async function atLogin (page: Page, provider: TestProvider): Promise<boolean> {
  return new URL(page.url()).origin === new URL(provider.issuer).origin &&
    await page.locator('input[name="login"]').isVisible()
}

/** Signs in as `login` on the provider's login page (any password), and waits to be back at `returnTo`. */
async function signIn (page: Page, login: string, returnTo: string): Promise<void> {
  await page.locator('input[name="login"]').fill(login)
  await page.locator('input[name="password"]').fill('any password will do')
  await Promise.all([page.waitForURL(returnTo, READY), page.getByRole('button', { name: 'Sign-in' }).click()])
}

if (!existsSync(CHROMIUM)) {
  const reason = `${CHROMIUM} not found: install Debian's chromium (apt-get install chromium) to run the browser tests`
  // CI installs chromium (.ci/run), so there a missing browser is a failure, not a skip.
  if (process.env.CI === 'true') t.fail(reason)
  process.stderr.write(`\n*** SKIPPING THE SIGN-IN BROWSER TEST: ${reason} ***\n\n`)
  t.test(TEST_NAME, { skip: reason }, () => {})
} else {
  t.test(TEST_NAME, async (t) => {
    // The provider registers the gateway's callback, so the gateway's port is chosen first.
    const port = await freePort()
    const gatewayUrl = `http://127.0.0.1:${port}`
    const provider = await startProvider(t, {
      gatewayUrl,
      users: {
        ann: { email: 'ann@example.com', email_verified: true, groups: ['finance'], name: 'Ann' },
        bob: { email: 'bob@example.com', email_verified: true, groups: ['sales'], name: 'Bob' }
      }
    })
    const oidc = gatewayOidc(provider, { signIn: true })
    const events: AuditEvent[] = []
    const { app, auth } = await buildTestApp(t, {
      redis: await startRedis(t),
      s3: await startS3(t),
      setup: (app) => { app.auditEvents.on('event', (event) => { events.push(event) }) }
    }, { publicUrl: gatewayUrl, oidc, session: { secrets: ['sign-in-test-session-secret-0123456789abcdef'], ttl: 3600 } })
    await app.listen({ host: '127.0.0.1', port })

    const filename = 'finance-q3.txt'
    const bytes = 'For the finance group only.\n'
    const up = await app.inject({
      method: 'POST',
      url: `/v1/files?filename=${filename}`,
      headers: { authorization: auth('owner'), 'content-type': 'text/plain' },
      body: bytes
    })
    t.equal(up.statusCode, 201)
    const shared = await app.inject({
      method: 'POST',
      url: `/v1/files/${String(up.json().id)}/links`,
      headers: { authorization: auth('owner') },
      payload: { access: { groups: ['finance'] } }
    })
    t.equal(shared.statusCode, 201)
    const linkId = String(shared.json().id)
    const link = `${gatewayUrl}/s/${String(shared.json().token)}`

    const browser = await launch(t)

    t.test('a member of the group', async (t) => {
      const context = await browser.newContext({ acceptDownloads: true })
      t.teardown(async () => { await context.close() })
      const page = await context.newPage()

      await page.goto(link, READY)
      t.ok(await atLogin(page, provider), 'the restricted link sends the browser to the provider\'s login page')
      await signIn(page, 'ann', link)
      t.equal(await page.locator('h1').textContent(), filename, 'back on the link\'s page')
      t.match(await page.locator('.account').textContent(), /Signed in as\s*ann@example\.com/, 'which says who is signed in')
      t.ok((await context.cookies(gatewayUrl)).some((c) => c.name === 'lg_session' && c.httpOnly), 'the session is an httpOnly cookie')
      t.notOk((await context.cookies(`${gatewayUrl}/auth/callback`)).some((c) => c.name === 'lg_signin'), 'the sign-in in progress is forgotten once used')

      const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download' }).click()])
      t.equal(download.suggestedFilename(), filename)
      t.equal(await readFile(await download.path(), 'utf8'), bytes, 'the very bytes uploaded')

      await page.getByRole('button', { name: 'Sign out' }).click()
      const confirm = page.getByRole('button', { name: 'Yes, sign me out' })
      await confirm.waitFor()
      t.equal(new URL(page.url()).origin, new URL(provider.issuer).origin, 'signing out asks the provider to end its session too')
      await Promise.all([page.waitForURL(`${gatewayUrl}/auth/signed-out`, READY), confirm.click()])
      t.equal(await page.locator('h1').textContent(), 'You are signed out')
      t.notOk((await context.cookies(gatewayUrl)).some((c) => c.name === 'lg_session'), 'the session cookie is gone')

      await page.goto(link, READY)
      t.ok(await atLogin(page, provider), 'the link asks to sign in again')
    })

    t.test('someone outside the group', async (t) => {
      const context = await browser.newContext({ acceptDownloads: true })
      t.teardown(async () => { await context.close() })
      const page = await context.newPage()

      await page.goto(link, READY)
      t.ok(await atLogin(page, provider), 'sent to the provider\'s login page')
      const answer = page.waitForResponse((response) => response.url() === link)
      await signIn(page, 'bob', link)
      t.equal((await answer).status(), 403)
      t.equal(await page.locator('h1').textContent(), 'This link is not shared with you')
      t.match(await page.locator('.account').textContent(), /Signed in as\s*bob@example\.com/)
      t.ok(await page.getByRole('link', { name: 'Switch account' }).isVisible(), 'it offers to switch account')
      t.ok(await page.getByRole('button', { name: 'Sign out' }).isVisible(), 'and to sign out')
      t.equal(await page.getByRole('button', { name: 'Download' }).count(), 0, 'and no download')

      // Switching asks the provider for a fresh login, although bob's session there is live.
      await page.getByRole('link', { name: 'Switch account' }).click()
      await page.locator('input[name="login"]').waitFor()
      t.ok(await atLogin(page, provider), 'switch account shows the provider\'s login page')
      await signIn(page, 'ann', link)
      t.match(await page.locator('.account').textContent(), /Signed in as\s*ann@example\.com/, 'now signed in as the member, on the link\'s page')
    })

    t.test('the audit trail names who signed in and who downloaded', async (t) => {
      await app.flushAudit()
      const of = (name: string, sub: string): AuditEvent[] => events.filter((e) => e.event === name && e.sub === sub)
      t.equal(of('auth.signed_in', 'ann').length, 2, 'ann signed in (twice: once, and again after bob switched)')
      t.equal(of('auth.signed_in', 'bob').length, 1)
      const redeemed = of('link.redeemed', 'ann')
      t.equal(redeemed.length, 1, 'one download, under ann')
      t.match(redeemed[0], { linkId, bytes: Buffer.byteLength(bytes), outcome: 'success' })
      t.equal(of('link.redeemed', 'bob').length, 0, 'bob downloaded nothing')
      const denied = of('link.denied', 'bob')
      t.equal(denied.length, 1, 'bob was refused once')
      t.match(denied[0], { linkId, reason: 'forbidden' })
      t.equal(of('auth.signed_out', 'ann').length, 1, 'ann signed out')
      const unauthenticated = events.filter((e) => e.event === 'link.denied' && e.reason === 'unauthenticated')
      t.equal(unauthenticated.length, 3, 'the visits before signing in (ann twice, bob once) were refused as unauthenticated')
      t.ok(unauthenticated.every((e) => e.sub === null && e.linkId === linkId), 'naming nobody')
    })
  })
}
