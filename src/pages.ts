// The small HTML pages browsers get: a download page for guarded links, a file request's
// upload page, error pages, and the owner's page. Under a strict Content-Security-Policy;
// all are self-contained (no external assets, no script) but the upload page and the
// owner's page, which load only the gateway's own files (/assets/).
import { createHash } from 'node:crypto'
import type { SessionUser } from './session.js'

const CSS = 'body{font:16px/1.5 system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#1d1d1f}' +
  'h1{font-size:1.4rem;word-break:break-word}dl{display:grid;grid-template-columns:auto 1fr;gap:.25rem 1rem}dt{color:#666}dd{margin:0}' +
  'input,button{font:inherit;padding:.5rem .75rem;border-radius:.4rem;border:1px solid #999}' +
  'button{background:#0a58ca;border-color:#0a58ca;color:#fff;cursor:pointer}.error{color:#b00020}form{display:grid;gap:.75rem;margin-top:1.5rem}' +
  '.account{display:flex;gap:.5rem;align-items:center;justify-content:space-between;color:#444;border-top:1px solid #ddd;margin-top:2rem;padding-top:1rem}' +
  '.account form{margin:0}.account button,a.button{background:#fff;color:#0a58ca;font-size:.9rem;text-decoration:none;padding:.4rem .7rem;border:1px solid #0a58ca;border-radius:.4rem}' +
  '.message{white-space:pre-wrap;word-break:break-word;border-left:3px solid #ccc;padding-left:.75rem}' +
  '.drop{display:block;border:2px dashed #999;border-radius:.6rem;padding:1.5rem;text-align:center;cursor:pointer}.drop.over{border-color:#0a58ca;background:#eef4ff}' +
  'progress{width:100%}ul.sent{padding-left:1.2rem}' +
  'a.button.primary{background:#0a58ca;color:#fff;font-size:1rem}pre{background:#f4f4f4;padding:.75rem;overflow-x:auto;font-size:.85rem}'

const STYLE_SRC = `'sha256-${createHash('sha256').update(CSS).digest('base64')}'`

/**
 * A page that runs script (the owner's page, a file request's page): where its scripts and
 * stylesheets come from, and what they may call, as URL prefixes of this gateway's.
 */
export interface PageScripts {
  assets: string
  api: string
}

/**
 * Security headers of every page; `formTargets` are the origins a form may post or redirect
 * to. Pages run no script, except with `scripts`: then only the gateway's files under
 * `assets` (never all of its origin, where the embedded store serves uploads), calls under
 * `api`, and pictures a script made (blob:, the QR code).
 */
export function pageHeaders (formTargets: string[] = [], scripts?: PageScripts): Record<string, string> {
  const formAction = formTargets.length === 0 ? "'none'" : ["'self'", ...formTargets].join(' ')
  const policy = scripts === undefined
    ? `default-src 'none'; style-src ${STYLE_SRC}`
    : `default-src 'none'; script-src ${scripts.assets}; style-src ${STYLE_SRC} ${scripts.assets}; img-src blob:; connect-src ${scripts.api}`
  return {
    'content-type': 'text/html; charset=utf-8',
    'content-security-policy': `${policy}; form-action ${formAction}; base-uri 'none'; frame-ancestors 'none'`,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'cache-control': 'no-store'
  }
}

export function escapeHtml (value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
}

/** `head` comes after the shared style, so that a page's own stylesheet may refine it. */
function layout (title: string, body: string, head = ''): string {
  return '<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">' +
    `<meta name="robots" content="noindex"><title>${escapeHtml(title)}</title><style>${CSS}</style>${head}</head><body>${body}</body></html>`
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

/** A signed-in browser's user as pages name them: by verified e-mail address, else user id. */
export function accountOf (user: SessionUser): Account {
  return { name: user.email ?? user.sub, csrf: user.csrf }
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

/** A number of seconds in words: "1 hour", "7 days", "90 minutes". */
export function humanDuration (seconds: number): string {
  const [count, unit] = seconds % 86_400 === 0
    ? [seconds / 86_400, 'day']
    : seconds % 3600 === 0 ? [seconds / 3600, 'hour'] : seconds % 60 === 0 ? [seconds / 60, 'minute'] : [seconds, 'second']
  return `${count} ${unit}${count === 1 ? '' : 's'}`
}

const TTL_CHOICES = [3600, 86_400, 7 * 86_400, 30 * 86_400, 90 * 86_400, 365 * 86_400]

export interface OwnerPage {
  account: Account
  /** The URL paths of the page's script, tus-js-client's and its stylesheet. */
  assets: { script: string, tus: string, style: string }
  /** LINK_DEFAULT_TTL and LINK_MAX_TTL, in seconds: the expiry choices. */
  defaultTtl: number
  maxTtl: number
}

/**
 * The signed-in owner's page: upload (drop or pick; resumable, by tus), the options of the
 * links it makes, and their files, links and requests. The markup is static; the script
 * (src/assets/owner.js) fills the lists with textContent, never markup. The CSRF token is
 * for the script's unsafe API calls.
 */
export function ownerPage (page: OwnerPage): string {
  const ttls = [...new Set([...TTL_CHOICES.filter((s) => s < page.maxTtl), page.defaultTtl, page.maxTtl])].sort((a, b) => a - b)
  const ttlOptions = ttls.map((s) => `<option value="${s}"${s === page.defaultTtl ? ' selected' : ''}>${humanDuration(s)}</option>`).join('')
  const head = `<link rel="stylesheet" href="${escapeHtml(page.assets.style)}">` +
    `<script src="${escapeHtml(page.assets.tus)}" defer></script><script src="${escapeHtml(page.assets.script)}" defer></script>` +
    `<meta name="csrf-token" content="${escapeHtml(page.account.csrf)}">`
  const list = (id: string, title: string): string =>
    `<section aria-labelledby="${id}-title"><h2 id="${id}-title">${title}</h2>` +
    `<p class="status" id="${id}-status" role="status">Loading…</p><ul class="items" id="${id}"></ul>` +
    `<button type="button" class="secondary" id="${id}-more" hidden>Show more</button></section>`
  return layout('Linkgate', '<header class="top"><p class="brand">Linkgate</p>' + accountBar(page.account) + '</header>' +
    '<main><h1>Share files</h1>' +
    '<noscript><p class="error">This page needs JavaScript. The API works without it: see <a href="/docs">/docs</a>.</p></noscript>' +
    '<section aria-labelledby="upload-title"><h2 id="upload-title">Upload</h2>' +
    '<fieldset class="options"><legend>Link options</legend>' +
    '<div class="check"><input type="checkbox" id="share" checked><label for="share">Make a link for each upload</label></div>' +
    `<label for="ttl">Expires after</label><select id="ttl">${ttlOptions}</select>` +
    '<label for="max-downloads">Downloads</label><input id="max-downloads" type="number" min="1" max="1000000" inputmode="numeric" placeholder="Unlimited">' +
    '<label for="password">Password</label><input id="password" type="password" minlength="8" maxlength="256" autocomplete="new-password" placeholder="None">' +
    '<label for="access">Who may open it</label><select id="access">' +
    '<option value="public">Anyone with the link</option><option value="authenticated">Anyone signed in</option><option value="rule">Only the people named below</option></select>' +
    '<div class="rule" id="rule" hidden>' +
    '<label for="subjects">Users</label><input id="subjects" placeholder="user ids, comma-separated">' +
    '<label for="groups">Groups</label><input id="groups" placeholder="groups, comma-separated">' +
    '<label for="domains">E-mail domains</label><input id="domains" placeholder="example.com, example.org"></div>' +
    '</fieldset>' +
    '<div class="drop" id="drop"><input type="file" id="files" multiple>' +
    '<label for="files"><strong>Drop files here</strong> or <span class="pick">choose files</span></label></div>' +
    '<p class="status" id="announce" role="status" aria-live="polite"></p>' +
    '<ul class="uploads" id="uploads"></ul></section>' +
    list('file-list', 'Your files') +
    list('link-list', 'Your links') +
    list('request-list', 'Your file requests') +
    '</main>', head)
}

/** The root for a browser that is not signed in: a way to sign in, or how to use the API. */
export function welcomePage (signIn: boolean, publicUrl: string): string {
  const body = signIn
    ? '<p>Sign in to upload files and share them with links.</p><p><a class="button primary" href="/auth/login">Sign in</a></p>'
    : '<p>This gateway shares files through its API. Upload with a token, and share the link it answers:</p>' +
      `<pre>curl -H "Authorization: Bearer $TOKEN" -F file=@report.pdf \\\n  '${escapeHtml(publicUrl)}/v1/files?share=true'</pre>` +
      '<p>The whole API: <a href="/docs">/docs</a>.</p>'
  return layout('Linkgate', `<h1>Linkgate</h1>${body}`)
}

/** Where the upload page's script is served (this origin's /assets/, which its CSP allows). */
export const REQUEST_PAGE_SCRIPT = '/assets/request.js'

export interface RequestPage {
  /** Where the form posts: /r/<token>. */
  action: string
  message: string | null
  expiresAt: number
  filesLeft: number
  bytesLeft: number
  maxFileBytes: number
  allowedTypes: string[] | null
  needsPassword: boolean
}

/**
 * A file request's page: the owner's message (text), what is left, and a form that uploads
 * one file (a plain multipart POST without script); its script makes it a drop zone that
 * sends each file with progress. Nothing on it names the owner.
 */
export function requestPage (page: RequestPage): string {
  const rows = [
    ['Files left', String(page.filesLeft)],
    ['Space left', humanSize(Math.min(page.bytesLeft, Number.MAX_SAFE_INTEGER))],
    ['Largest file', humanSize(Math.min(page.bytesLeft, page.maxFileBytes))],
    ...(page.allowedTypes === null ? [] : [['Types', page.allowedTypes.join(', ')]]),
    ['Open until', new Date(page.expiresAt).toUTCString()]
  ].map(([k, v]) => `<dt>${escapeHtml(k ?? '')}</dt><dd>${escapeHtml(v ?? '')}</dd>`).join('')
  const message = page.message === null ? '' : `<p class="message">${escapeHtml(page.message)}</p>`
  const password = page.needsPassword
    ? '<label for="password">Password</label><input id="password" name="password" type="password" required minlength="8" maxlength="256" autocomplete="off">'
    : ''
  const accept = page.allowedTypes === null ? '' : ` accept="${escapeHtml(page.allowedTypes.join(','))}"`
  if (page.filesLeft === 0 || page.bytesLeft === 0) {
    return layout('Send files', `<h1>Send files</h1>${message}<p>This request has received all it takes: nothing more can be sent.</p>`)
  }
  // The password comes before the file in the form, so that a multipart body names it first.
  return layout('Send files',
    `<h1>Send files</h1>${message}<dl>${rows}</dl>` +
    `<form id="upload" method="post" enctype="multipart/form-data" action="${escapeHtml(page.action)}">${password}` +
    `<label class="drop" for="file">Drop files here, or choose them</label><input id="file" name="file" type="file" required${accept}>` +
    '<progress id="progress" max="1" value="0" hidden></progress><p id="status" role="status" aria-live="polite"></p>' +
    '<button type="submit">Upload</button></form><ul class="sent" id="sent"></ul>',
    `<script type="module" src="${REQUEST_PAGE_SCRIPT}"></script>`)
}

/** What a browser that posted the form without its script sees once the file is in. */
export function receivedPage (filename: string, size: number, back: string): string {
  return layout('File received',
    `<h1>File received</h1><p>${escapeHtml(filename)} (${escapeHtml(humanSize(size))}) was received. Thank you.</p>` +
    `<p><a class="button" href="${escapeHtml(back)}">Send another file</a></p>`)
}
