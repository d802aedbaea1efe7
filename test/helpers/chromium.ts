// Debian's chromium, driven by playwright-core, for the browser tests: where it is, how it is
// launched here (no sandbox, no network of its own), and what a test does where it is missing.
import { existsSync } from 'node:fs'
import type { Browser } from 'playwright-core'
import type { Test } from 'tap'

export const CHROMIUM = '/usr/bin/chromium'
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run']

/**
 * Null where chromium is installed; otherwise why the browser tests cannot run, said loudly
 * on stderr. Under CI=true (.ci/run installs chromium) a missing browser fails `t` instead.
 */
export function chromiumMissing (t: Test, what: string): string | null {
  if (existsSync(CHROMIUM)) return null
  const reason = `${CHROMIUM} not found: install Debian's chromium (apt-get install chromium) to run the browser tests`
  if (process.env.CI === 'true') t.fail(reason)
  process.stderr.write(`\n*** SKIPPING ${what}: ${reason} ***\n\n`)
  return reason
}

/** A headless chromium, closed on teardown; each user gets a context (cookie jar) of their own. */
export async function launchChromium (t: Test): Promise<Browser> {
  const { chromium } = await import('playwright-core')
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS })
  t.teardown(async () => { await browser.close() })
  return browser
}
