import t from 'tap'
import { prefersHtml } from '../../src/domain/negotiation.js'

const CHROME = 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7'
const FIREFOX = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8'
const FIREFOX_OLD = 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8'
const SAFARI = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8'
const EDGE = 'text/html,application/xhtml+xml,application/xml;q=0.9,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7'

t.test('browser navigation requests prefer HTML', async (t) => {
  for (const [name, accept] of Object.entries({ CHROME, FIREFOX, FIREFOX_OLD, SAFARI, EDGE })) {
    t.equal(prefersHtml(accept), true, name)
  }
})

t.test('API clients do not', async (t) => {
  const cases: Array<[string, string | undefined]> = [
    ['no Accept header', undefined],
    ['empty Accept header', ''],
    ['curl', '*/*'],
    ['JSON', 'application/json'],
    ['problem JSON', 'application/problem+json'],
    ['JSON first, HTML as fallback', 'application/json, text/html;q=0.5'],
    ['problem JSON above HTML', 'text/html;q=0.5, application/problem+json;q=0.6'],
    ['text/* is not text/html', 'text/*'],
    ['image requests', 'image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8'],
    ['fetch() default', '*/*'],
    ['plain text', 'text/plain']
  ]
  for (const [name, accept] of cases) t.equal(prefersHtml(accept), false, name)
})

t.test('explicitly refused HTML is not preferred', async (t) => {
  t.equal(prefersHtml('text/html;q=0'), false)
  t.equal(prefersHtml('text/html;q=0.0'), false)
  t.equal(prefersHtml('text/html;q=0.000'), false)
  t.equal(prefersHtml('text/html;level=1;q=0'), false, 'q after another parameter')
  t.equal(prefersHtml('text/html;q=0, application/xhtml+xml;q=0'), false)
  t.equal(prefersHtml('text/html;q=0, */*'), false)
})

t.test('HTML wins ties and lower-but-positive weights when nothing better is asked for', async (t) => {
  t.equal(prefersHtml('text/html'), true)
  t.equal(prefersHtml('application/xhtml+xml'), true)
  t.equal(prefersHtml('text/html, application/json'), true, 'a tie goes to HTML')
  t.equal(prefersHtml('application/json;q=0.5, text/html;q=0.5'), true)
  t.equal(prefersHtml('text/html;q=0.1'), true)
  t.equal(prefersHtml('text/html;q=0.6, application/json;q=0.5'), true)
  t.equal(prefersHtml('application/json;q=0.9, application/xhtml+xml'), true, 'XHTML counts as HTML')
  t.equal(prefersHtml('text/html;q=0.001, application/json;q=0'), true)
})

t.test('case and whitespace do not matter', async (t) => {
  const yes = [
    'TEXT/HTML',
    'Text/Html;Q=0.9',
    ' text/html ',
    '\ttext/html',
    'text/html ;q=0.9',
    'text/html; q=0.9',
    'text/html ; q=0.9 , application/json ; q=0.8',
    'application/json;q=0.1,   TEXT/HTML',
    'APPLICATION/XHTML+XML'
  ]
  for (const accept of yes) t.equal(prefersHtml(accept), true, JSON.stringify(accept))
  const no = [
    'TEXT/HTML;Q=0',
    'text/html ; q=0',
    'APPLICATION/JSON, text/html;q=0.5',
    'application/json , text/html ; q=0.5',
    'Application/Problem+JSON, Text/HTML;Q=0.2'
  ]
  for (const accept of no) t.equal(prefersHtml(accept), false, JSON.stringify(accept))
})

t.test('garbage q values count as refusal, not as q=1', async (t) => {
  for (const q of ['abc', '', 'NaN', 'Infinity', '-Infinity', '-1', '0.5.5', '"1"']) {
    t.equal(prefersHtml(`text/html;q=${q}`), false, `q=${q}`)
  }
  t.equal(prefersHtml('application/json;q=abc, text/html;q=0.001'), true, 'a garbage weight on JSON refuses JSON')
})

t.test('the best weight of a repeated type counts', async (t) => {
  t.equal(prefersHtml('text/html;q=0, text/html;q=0.5'), true)
  t.equal(prefersHtml('text/html;q=0.5, text/html;q=0'), true)
})

t.test('other parameters are not mistaken for a weight', async (t) => {
  t.equal(prefersHtml('text/html;charset=utf-8'), true)
  t.equal(prefersHtml('text/html;qs=0'), true, 'qs is not q')
  t.equal(prefersHtml('application/json;v=0.1, text/html;q=0.9'), false, 'JSON at an implicit q=1')
})
