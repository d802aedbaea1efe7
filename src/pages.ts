// The small HTML pages browsers get: a download page for guarded links, and error pages.
// Self-contained (no external assets), under a strict Content-Security-Policy.
import { createHash } from 'node:crypto'

const CSS = 'body{font:16px/1.5 system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#1d1d1f}' +
  'h1{font-size:1.4rem;word-break:break-word}dl{display:grid;grid-template-columns:auto 1fr;gap:.25rem 1rem}dt{color:#666}dd{margin:0}' +
  'input,button{font:inherit;padding:.5rem .75rem;border-radius:.4rem;border:1px solid #999}' +
  'button{background:#0a58ca;border-color:#0a58ca;color:#fff;cursor:pointer}.error{color:#b00020}form{display:grid;gap:.75rem;margin-top:1.5rem}' +
  '.account{display:flex;gap:.5rem;align-items:center;justify-content:space-between;color:#444;border-top:1px solid #ddd;margin-top:2rem;padding-top:1rem}' +
  '.account form{margin:0}.account button,a.button{background:#fff;color:#0a58ca;font-size:.9rem;text-decoration:none;padding:.4rem .7rem;border:1px solid #0a58ca;border-radius:.4rem}'

const STYLE_SRC = `'sha256-${createHash('sha256').update(CSS).digest('base64')}'`

/** Security headers of every page; `formTargets` are the origins a form may post or redirect to. */
export function pageHeaders (formTargets: string[] = []): Record<string, string> {
  const formAction = formTargets.length === 0 ? "'none'" : ["'self'", ...formTargets].join(' ')
  return {
    'content-type': 'text/html; charset=utf-8',
    'content-security-policy': `default-src 'none'; style-src ${STYLE_SRC}; form-action ${formAction}; base-uri 'none'; frame-ancestors 'none'`,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'cache-control': 'no-store'
  }
}

export function escapeHtml (value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
}

function layout (title: string, body: string, head = ''): string {
  return '<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">' +
    `<meta name="robots" content="noindex">${head}<title>${escapeHtml(title)}</title><style>${CSS}</style></head><body>${body}</body></html>`
}

const PREVIEW_TITLE = 'A file shared with you'
const PREVIEW_TEXT = 'Open the link to see the file.'
/**
 * Open Graph tags for the preview card a chat or mail client makes of a link page: they
 * name nothing about the file (not its name, size or type), since the card is shown to
 * whoever can see the message, and preview bots prefer them to the page's title.
 */
const OPEN_GRAPH = '<meta property="og:type" content="website"><meta property="og:site_name" content="Linkgate">' +
  `<meta property="og:title" content="${PREVIEW_TITLE}"><meta property="og:description" content="${PREVIEW_TEXT}">`

/** What a link-preview bot that does not ask for HTML gets for a limited or password link. */
export function previewPage (): string {
  return layout(PREVIEW_TITLE, `<h1>${PREVIEW_TITLE}</h1><p>${PREVIEW_TEXT}</p>`, OPEN_GRAPH)
}

export function errorPage (title: string, message: string): string {
  return layout(title, `<h1>${escapeHtml(title)}</h1><p>${escapeHtml(message)}</p>`)
}

export function humanSize (bytes: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB']
  let value = bytes
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit++
  }
  return unit === 0 ? `${bytes} bytes` : `${value.toFixed(1)} ${units[unit] ?? ''}`
}

/** Who is signed in, on a page that offers to sign out: the form carries the session's CSRF token. */
export interface Account {
  name: string
  csrf: string
}

function accountBar (account: Account | null, switchTo?: string): string {
  if (account === null) return ''
  const switchLink = switchTo === undefined ? '' : `<a class="button" href="${escapeHtml(switchTo)}">Switch account</a>`
  return `<div class="account"><span>Signed in as <strong>${escapeHtml(account.name)}</strong></span>${switchLink}` +
    `<form method="post" action="/auth/logout"><input type="hidden" name="csrf" value="${escapeHtml(account.csrf)}">` +
    '<button type="submit">Sign out</button></form></div>'
}

/** A restricted link opened by someone signed in whom it is not shared with. */
export function notSharedPage (account: Account, switchTo: string): string {
  return layout('Not shared with you',
    '<h1>This link is not shared with you</h1><p>The person who shared it chose who may open it, and your account is not one of them. ' +
    'If you have another account that it is shared with, switch to it; otherwise ask them to share it with you.</p>' +
    accountBar(account, switchTo))
}

/** After signing out. */
export function signedOutPage (): string {
  return layout('Signed out', '<h1>You are signed out</h1><p>Open a link again to sign in.</p>')
}

/** A sign-in that could not be completed: what to do, never the provider's raw error. */
export function signInFailedPage (message: string): string {
  return layout('Sign-in failed', `<h1>Sign-in failed</h1><p>${escapeHtml(message)}</p>`)
}

export interface DownloadPage {
  filename: string
  size: number
  expiresAt: number
  downloadsLeft: number | null
  needsPassword: boolean
  nonce: string
  error?: string | undefined
  account?: Account | null
}

/** The page of a limited or password-protected link: looking at it spends nothing; its form does. */
export function downloadPage (page: DownloadPage): string {
  const rows = [
    ['Size', humanSize(page.size)],
    ['Expires', new Date(page.expiresAt).toUTCString()],
    ...(page.downloadsLeft === null ? [] : [['Downloads left', String(page.downloadsLeft)]])
  ].map(([k, v]) => `<dt>${escapeHtml(k ?? '')}</dt><dd>${escapeHtml(v ?? '')}</dd>`).join('')
  const password = page.needsPassword
    ? '<label for="password">Password</label><input id="password" name="password" type="password" required minlength="8" maxlength="256" autocomplete="off" autofocus>'
    : ''
  const error = page.error === undefined ? '' : `<p class="error" role="alert">${escapeHtml(page.error)}</p>`
  return layout(`Download ${page.filename}`,
    `<h1>${escapeHtml(page.filename)}</h1><dl>${rows}</dl>${error}` +
    `<form method="post"><input type="hidden" name="nonce" value="${escapeHtml(page.nonce)}">${password}` +
    '<button type="submit">Download</button></form>' + accountBar(page.account ?? null), OPEN_GRAPH)
}
