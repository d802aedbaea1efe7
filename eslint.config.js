// Lint rules (neostandard, the Fastify ecosystem's style); `npm run lint` runs them.
import neostandard from 'neostandard'

export default [
  ...neostandard({ ts: true, ignores: ['dist/**', 'node_modules/**', 'data/**', '.tap/**', 'coverage/**'] })
]
