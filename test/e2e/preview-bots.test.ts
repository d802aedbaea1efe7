// Link-preview bots against a gateway process (the compiled server) on a real Redis and
// s3rver: the chat apps' and mail scanners' fetchers that do not ask for HTML spend no
// limited or password link and learn nothing about the file; API clients keep their 302.
import t from 'tap'
import { bearer, s3Env, startGateway } from '../helpers/gateway.js'
import { startRedis } from '../helpers/redis.js'
import { startS3 } from '../helpers/s3.js'

const authorization = bearer('owner')

const BOTS = [
  'Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)',
  'facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)',
  'Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)',
  'TelegramBot (like TwitterBot)',
  'WhatsApp/2.23.20.0',
  'Twitterbot/1.0',
  'LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)',
  'Mozilla/5.0 (Windows NT 6.1; WOW64) SkypeUriPreview Preview/0.5 skype-url-preview@microsoft.com',
  'Mozilla/5.0 (compatible; Google-Safety; +http://www.google.com/bot.html)',
  'Iframely/1.3.1 (+https://iframely.com/docs/about)'
]
const FILENAME = 'q3-layoffs-draft.pdf'

const redis = await startRedis(t)
const s3 = await startS3(t)
const gw = await startGateway(t, { REDIS_URL: redis.url, REDIS_KEY_PREFIX: redis.keyPrefix, ...s3Env(s3), REDEEM_RATE_LIMIT: '100000', API_RATE_LIMIT: '100000' })

const up = await fetch(`${gw.base}/v1/files?filename=${FILENAME}`, { method: 'POST', headers: { authorization, 'content-type': 'application/pdf' }, body: '%PDF-1.7 the secret' })
const { id: fileId } = await up.json() as { id: string }
async function mint (options: object): Promise<{ id: string, token: string }> {
  const res = await fetch(`${gw.base}/v1/files/${fileId}/links`, { method: 'POST', headers: { authorization, 'content-type': 'application/json' }, body: JSON.stringify(options) })
  if (res.status !== 201) throw new Error(`link creation answered ${res.status}: ${await res.text()}`)
  return await res.json() as { id: string, token: string }
}
async function get (token: string, userAgent: string, accept = '*/*'): Promise<{ status: number, location: string | null, type: string | null, body: string }> {
  const res = await fetch(`${gw.base}/s/${token}`, { redirect: 'manual', headers: { 'user-agent': userAgent, accept } })
  return { status: res.status, location: res.headers.get('location'), type: res.headers.get('content-type'), body: await res.text() }
}
async function downloads (linkId: string): Promise<number> {
  const res = await fetch(`${gw.base}/v1/links/${linkId}`, { headers: { authorization } })
  return (await res.json() as { downloads: number }).downloads
}

t.test('a one-time link survives every preview bot; then the person gets it', async (t) => {
  const once = await mint({ maxDownloads: 1 })
  for (const bot of BOTS) {
    const res = await get(once.token, bot)
    t.equal(res.status, 200, bot)
    t.equal(res.location, null, `${bot}: no redirect`)
    t.match(res.type, /^text\/html/)
    t.match(res.body, /<meta property="og:title" content="A file shared with you">/, `${bot}: an Open Graph card`)
    t.notOk(res.body.includes(FILENAME) || res.body.includes('q3-layoffs') || res.body.includes(s3.endpoint) || /nonce|X-Amz/i.test(res.body),
      `${bot}: nothing about the file, no URL, no form`)
  }
  t.equal(await downloads(once.id), 0, 'nothing was spent')
  const person = await get(once.token, 'curl/8.5.0')
  t.equal(person.status, 302, 'the person (with curl) gets the file')
  t.equal(await downloads(once.id), 1)
  t.equal((await get(once.token, 'curl/8.5.0')).status, 404, 'and it was the only download')
})

t.test('a password link: a bot gets the card, not a 401 and not a guess', async (t) => {
  const locked = await mint({ password: 'the real password' })
  const res = await get(locked.token, BOTS[0] ?? '')
  t.equal(res.status, 200)
  t.notOk(res.body.includes(FILENAME))
})

t.test('API clients keep their 302 for a limited link: script libraries by name, any client by asking for JSON', async (t) => {
  const limited = await mint({ maxDownloads: 10 })
  for (const client of ['curl/8.5.0', 'Wget/1.21.3', 'python-requests/2.32.3', 'Go-http-client/1.1', 'node', 'aws-sdk-js/3.0']) {
    t.equal((await get(limited.token, client)).status, 302, client)
  }
  t.equal((await get(limited.token, 'acme-sync/2.1 (+https://acme.example)', 'application/json')).status, 302, 'a client of its own that asks for JSON')
  t.equal((await get(limited.token, 'acme-sync/2.1 (+https://acme.example)')).status, 200, 'one that names a site and asks for anything looks like a bot: the card')
  t.equal(await downloads(limited.id), 7)
})

t.test('a browser still gets the download page (with the same card), and an unlimited link still redirects a bot', async (t) => {
  const once = await mint({ maxDownloads: 1 })
  const page = await get(once.token, 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120 Safari/537.36', 'text/html,*/*;q=0.8')
  t.equal(page.status, 200)
  t.match(page.body, new RegExp(`<h1>${FILENAME}</h1>`), 'the person sees what they are about to download')
  t.match(page.body, /og:title" content="A file shared with you"/, 'a bot that asks for HTML makes the same anonymous card')
  const open = await mint({})
  t.equal((await get(open.token, BOTS[0] ?? '')).status, 302, 'nothing to spend: the preview may fetch the file')
})
