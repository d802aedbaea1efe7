// docker-compose.yml passes every variable the gateway reads through to it (empty means
// unset), so that an operator's `export X=…; docker compose up` is never silently ignored.
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { VARIABLES } from '../src/config.js'
import { ROOT } from './helpers/root.js'

t.test('every configuration variable reaches the gateway service', async (t) => {
  const compose = await readFile(join(ROOT, 'docker-compose.yml'), 'utf8')
  const gateway = compose.slice(compose.indexOf('\n  gateway:'))
  // What the compose file itself decides: the image's address, one Redis, S3 (no local data).
  const decided = new Set(['HOST', 'PORT', 'REDIS_SENTINELS', 'REDIS_SENTINEL_NAME', 'REDIS_CLUSTER_NODES', 'DATA_DIR'])
  const missing = VARIABLES.filter((name) => !decided.has(name) && !new RegExp(`^\\s+${name}:`, 'm').test(gateway))
  t.strictSame(missing, [], 'variables the compose file does not pass')
})
