// Lint rules (neostandard, the Fastify ecosystem's style). Kept under .ci/ because the
// repository's top level is fixed; `npm run lint` points ESLint here.
import neostandard from 'neostandard'

export default [
  ...neostandard({ ts: true, ignores: ['dist/**', 'node_modules/**', 'data/**', '.tap/**', 'coverage/**'] })
]
