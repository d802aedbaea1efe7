import t from 'tap'
import { createHash } from 'node:crypto'
import { downloadPage, errorPage, escapeHtml, humanSize, pageHeaders, type DownloadPage } from '../src/pages.js'

const XSS = '"><script>alert(1)</script>'
const STYLE_BREAK = '</style><img src=x onerror=alert(1)>'

const base: DownloadPage = {
  filename: 'report.pdf',
  size: 1536,
  expiresAt: Date.UTC(2030, 0, 2, 3, 4, 5),
  downloadsLeft: null,
  needsPassword: false,
  nonce: '1750000900000.abc_DEF-123'
}

/** The text between `<style>` and `</style>`, exactly. */
function styleContent (html: string): string {
  const m = /<style>([\s\S]*?)<\/style>/.exec(html)
  if (m === null) throw new Error('no <style> element')
  return m[1] ?? ''
}

function allPages (): string[] {
  return [
    downloadPage(base),
    downloadPage({ ...base, needsPassword: true, downloadsLeft: 3, error: 'Wrong password' }),
    downloadPage({ ...base, filename: XSS, error: STYLE_BREAK }),
    errorPage('Not found', 'This link is unknown.')
  ]
}

t.test('escapeHtml', async (t) => {
  t.equal(escapeHtml('<>&"\''), '&#60;&#62;&#38;&#34;&#39;')
  t.equal(escapeHtml('plain text, café 😀'), 'plain text, café 😀')
  t.equal(escapeHtml(''), '')
  t.equal(escapeHtml('&amp;'), '&#38;amp;', 'already-escaped text is escaped again')
  t.equal(escapeHtml(XSS), '&#34;&#62;&#60;script&#62;alert(1)&#60;/script&#62;')
})

t.test('downloadPage escapes the filename and the error', async (t) => {
  for (const evil of [XSS, STYLE_BREAK, '</title><script>x()</script>', "' onmouseover='alert(1)"]) {
    const html = downloadPage({ ...base, filename: evil, error: evil })
    t.notMatch(html, '<script', `no script element for ${evil}`)
    t.notMatch(html, '<img', `no injected element for ${evil}`)
    t.equal(html.split('</style>').length, 2, `exactly one </style> for ${evil}`)
    t.equal(html.split('</title>').length, 2, `exactly one </title> for ${evil}`)
    t.ok(html.includes(`<h1>${escapeHtml(evil)}</h1>`), 'the heading shows the escaped name')
    t.ok(html.includes(`<title>Download ${escapeHtml(evil)}</title>`), 'so does the title')
    t.ok(html.includes(`<p class="error" role="alert">${escapeHtml(evil)}</p>`), 'and the error')
    t.equal(styleContent(html), styleContent(downloadPage(base)), 'the style element is untouched')
  }
})

t.test('the error paragraph appears only with an error', async (t) => {
  t.notMatch(downloadPage(base), 'class="error"')
  t.notMatch(downloadPage({ ...base, error: undefined }), 'role="alert"')
  t.match(downloadPage({ ...base, error: 'Wrong password' }), '<p class="error" role="alert">Wrong password</p>')
})

t.test('the password input only when the link needs one', async (t) => {
  const without = downloadPage({ ...base, needsPassword: false })
  const withPw = downloadPage({ ...base, needsPassword: true })
  t.notMatch(without, 'type="password"')
  t.notMatch(without, 'name="password"')
  t.match(withPw, /<input id="password" name="password" type="password" required[^>]*>/)
  t.match(withPw, '<label for="password">Password</label>')
})

t.test('downloads left only when limited', async (t) => {
  t.notMatch(downloadPage({ ...base, downloadsLeft: null }), 'Downloads left')
  t.match(downloadPage({ ...base, downloadsLeft: 3 }), '<dt>Downloads left</dt><dd>3</dd>')
  t.match(downloadPage({ ...base, downloadsLeft: 0 }), '<dt>Downloads left</dt><dd>0</dd>', '0 is shown, not treated as absent')
})

t.test('size and expiry are shown', async (t) => {
  const html = downloadPage(base)
  t.match(html, '<dt>Size</dt><dd>1.5 KiB</dd>')
  t.match(html, '<dt>Expires</dt><dd>Wed, 02 Jan 2030 03:04:05 GMT</dd>')
})

t.test('the nonce travels in a hidden input, escaped', async (t) => {
  t.match(downloadPage(base), `<input type="hidden" name="nonce" value="${base.nonce}">`)
  const html = downloadPage({ ...base, nonce: '1"><script>x</script>' })
  t.match(html, '<input type="hidden" name="nonce" value="1&#34;&#62;&#60;script&#62;x&#60;/script&#62;">')
  t.notMatch(html, '<script')
})

t.test('the form posts to the page itself', async (t) => {
  const html = downloadPage({ ...base, needsPassword: true })
  t.match(html, '<form method="post">')
  t.notMatch(html, /action=/i, 'no action attribute: same URL')
  t.match(html, '<button type="submit">Download</button>')
})

t.test('pages are self-contained: no script, no attributes loading anything', async (t) => {
  for (const html of allPages()) {
    t.notMatch(html, /<script/i)
    t.notMatch(html, /https?:/i, 'no URL anywhere')
    t.notMatch(html, /url\(|@import/i, 'the CSS loads nothing')
    // Attributes live inside tags; escaped text (which may read "src=x") has no '<'.
    const tags = html.match(/<[a-z][^>]*>/gi) ?? []
    t.ok(tags.length > 5, 'tags were found')
    for (const tag of tags) {
      t.notMatch(tag, /\s(src|href|srcset|action|formaction|poster|data)\s*=/i, `no loading attribute in ${tag}`)
      t.notMatch(tag, /\sstyle\s*=/i, `no inline style attribute in ${tag} (the CSP hash would not cover it)`)
      t.notMatch(tag, /\son[a-z]+\s*=/i, `no event handler attribute in ${tag}`)
    }
    t.equal(html.split('<style').length, 2, 'exactly one style element')
    t.match(html, /^<!doctype html><html lang="en"><head><meta charset="utf-8">/)
    t.match(html, '<meta name="robots" content="noindex">')
  }
})

t.test('errorPage escapes its title and message', async (t) => {
  const html = errorPage(XSS, STYLE_BREAK)
  t.notMatch(html, '<script')
  t.notMatch(html, '<img')
  t.match(html, `<h1>${escapeHtml(XSS)}</h1><p>${escapeHtml(STYLE_BREAK)}</p>`)
})

t.test('pageHeaders', async (t) => {
  const headers = pageHeaders()
  const csp = headers['content-security-policy'] ?? ''
  t.ok(csp.startsWith("default-src 'none'"), csp)
  const directives = new Map(csp.split(';').map((d) => {
    const [name = '', ...values] = d.trim().split(/\s+/)
    return [name, values.join(' ')]
  }))
  t.equal(directives.get('default-src'), "'none'")
  t.equal(directives.get('form-action'), "'none'")
  t.equal(directives.get('base-uri'), "'none'")
  t.equal(directives.get('frame-ancestors'), "'none'")
  t.notOk(directives.has('script-src'), 'no script source at all')
  t.notMatch(csp, 'unsafe-', 'no unsafe-inline or unsafe-eval')
  t.equal(headers['content-type'], 'text/html; charset=utf-8')
  t.equal(headers['x-content-type-options'], 'nosniff')
  t.equal(headers['referrer-policy'], 'no-referrer')
  t.equal(headers['cache-control'], 'no-store')
})

t.test('the style hash in the CSP is the sha256 of every page\'s style element', async (t) => {
  const csp = pageHeaders()['content-security-policy'] ?? ''
  const m = /style-src '(sha256-[A-Za-z0-9+/]+=*)'(;|$)/.exec(csp)
  t.ok(m, 'style-src has exactly one hash source')
  for (const html of allPages()) {
    const hash = createHash('sha256').update(styleContent(html), 'utf8').digest('base64')
    t.equal(m?.[1], `sha256-${hash}`)
  }
  t.equal(pageHeaders(['https://s3.example.com'])['content-security-policy']?.match(/style-src [^;]+/)?.[0], `style-src '${m?.[1] ?? ''}'`, 'the same with form targets')
})

t.test('form-action: none without targets, self and the targets otherwise', async (t) => {
  const formAction = (targets?: string[]): string | undefined =>
    /form-action ([^;]+)/.exec(pageHeaders(targets)['content-security-policy'] ?? '')?.[1]
  t.equal(formAction(), "'none'")
  t.equal(formAction([]), "'none'")
  t.equal(formAction(['https://gw.example.com']), "'self' https://gw.example.com")
  t.equal(formAction(['https://gw.example.com', 'http://localhost:9000']), "'self' https://gw.example.com http://localhost:9000")
  const csp = pageHeaders(['https://gw.example.com'])['content-security-policy'] ?? ''
  t.ok(csp.startsWith("default-src 'none'"), 'default-src still first')
  t.match(csp, "base-uri 'none'")
  t.match(csp, "frame-ancestors 'none'")
})

t.test('pageHeaders returns a fresh object each time', async (t) => {
  const a = pageHeaders()
  a['cache-control'] = 'public'
  t.equal(pageHeaders()['cache-control'], 'no-store')
})

t.test('humanSize', async (t) => {
  const KiB = 1024
  const MiB = KiB * 1024
  const GiB = MiB * 1024
  const TiB = GiB * 1024
  const cases: Array<[number, string]> = [
    [0, '0 bytes'],
    [1, '1 bytes'],
    [512, '512 bytes'],
    [1023, '1023 bytes'],
    [KiB, '1.0 KiB'],
    [1536, '1.5 KiB'],
    [10 * KiB - 1, '10.0 KiB'],
    [100 * KiB, '100.0 KiB'],
    [MiB, '1.0 MiB'],
    [2.25 * MiB, '2.3 MiB'],
    [GiB, '1.0 GiB'],
    [5 * GiB, '5.0 GiB'],
    [TiB, '1.0 TiB'],
    [1.5 * TiB, '1.5 TiB'],
    [1024 * TiB, '1024.0 TiB'], // no unit above TiB
    [5000 * TiB, '5000.0 TiB']
  ]
  for (const [bytes, expected] of cases) t.equal(humanSize(bytes), expected, String(bytes))
})
