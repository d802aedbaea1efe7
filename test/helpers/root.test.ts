import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { ROOT } from './root.js'

t.test('ROOT is the repository, whether the tests run from test/ or compiled from dist/test/', async (t) => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { name: string }
  t.equal(pkg.name, 'linkgate')
  t.notOk(ROOT.endsWith('dist'), 'not the build folder')
})
