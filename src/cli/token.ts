// `npm run token -- <sub> [ttl]`: prints a JWT signed with JWT_SECRET, for trying the API.
import { createSigner } from 'fast-jwt'

const [sub, ttl = '24h'] = process.argv.slice(2)
const secret = process.env.JWT_SECRET
// An option (--help, -h) is never a user id.
if (sub === undefined || sub.startsWith('-') || secret === undefined || secret.length < 32) {
  process.stderr.write('usage: JWT_SECRET=<32+ characters> npm run -s token -- <sub> [lifetime, e.g. 24h]\n')
  process.exit(1)
}
const parsed = /^([1-9]\d*)([smhd]?)$/.exec(ttl)
if (parsed === null) {
  process.stderr.write(`token: the lifetime must be a whole number with s, m, h or d, e.g. 90m or 7d (got ${JSON.stringify(ttl)})\n`)
  process.exit(1)
}
const unit = { '': 1, s: 1, m: 60, h: 3600, d: 86400 }[parsed[2] ?? ''] ?? 1
const sign = createSigner({ key: secret, algorithm: 'HS256', expiresIn: Number(parsed[1]) * unit * 1000 })
process.stdout.write(sign({ sub }) + '\n')
