import t from 'tap'
import { isPreviewBot } from '../../src/domain/preview-bots.js'

t.test('preview fetchers are bots', async (t) => {
  for (const ua of ['Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)', 'facebookexternalhit/1.1', 'WhatsApp/2.23.20.0', 'TelegramBot (like TwitterBot)']) {
    t.ok(isPreviewBot(ua), ua)
    t.ok(isPreviewBot(ua, '*/*'), `${ua}, */*`)
    t.ok(isPreviewBot(ua, 'text/html'), `${ua}, asking for HTML (the route tells a browser by its Accept first)`)
  }
})

t.test('browsers, script HTTP clients and clients asking for an application type are not', async (t) => {
  t.notOk(isPreviewBot(undefined))
  t.notOk(isPreviewBot('Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120 Safari/537.36'))
  for (const ua of ['curl/8.5.0', 'Wget/1.21', 'python-requests/2.31', 'Python-urllib/3.12', 'node', 'undici', 'Go-http-client/2.0', 'okhttp/4.12', 'axios/1.7', 'aws-sdk-js/3', 'HTTPie/3.2', 'PostmanRuntime/7.39', 'lightMyRequest', 'rclone/v1.66']) {
    t.notOk(isPreviewBot(ua), ua)
  }
  t.ok(isPreviewBot('acme-sync/2.1'), 'isbot flags any client that is not a browser')
  t.notOk(isPreviewBot('acme-sync/2.1', 'application/json'), 'unless it asks for JSON')
  t.notOk(isPreviewBot('acme-sync/2.1', 'application/octet-stream, */*'))
  t.ok(isPreviewBot('acme-sync/2.1', 'application/xhtml+xml'), 'XHTML is a page')
  t.ok(isPreviewBot('acme-sync/2.1', 'image/*'), 'an image proxy asking for images is still a bot')
})
