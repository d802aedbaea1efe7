// `npm run token -- <sub> [ttl]`: prints a JWT signed with JWT_SECRET, for trying the API.
import { createSigner } from 'fast-jwt'

const [sub, ttl = '24h'] = process.argv.slice(2)
const secret = process.env.JWT_SECRET
if (sub === undefined || secret === undefined || secret.length < 32) {
  process.stderr.write('usage: JWT_SECRET=<32+ bytes> npm run token -- <sub> [ttl, e.g. 24h]\n')
  process.exit(1)
}
const seconds = /^(\d+)([smhd]?)$/.exec(ttl)
const unit = { '': 1, s: 1, m: 60, h: 3600, d: 86400 }[seconds?.[2] ?? ''] ?? 1
const sign = createSigner({ key: secret, algorithm: 'HS256', expiresIn: Number(seconds?.[1] ?? 86400) * unit * 1000 })
process.stdout.write(sign({ sub }) + '\n')
