// The repository's root: the nearest folder above this file with a package.json. Tests run
// compiled from dist/test/ (npm test), so paths relative to a test file's own folder differ
// by one level from the source tree's.
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'

function findRoot (from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir
    if (dirname(dir) === dir) throw new Error(`no package.json above ${from}`)
  }
}

export const ROOT = findRoot(import.meta.dirname)
