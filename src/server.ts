// The process entry: read the configuration, build the app, listen, shut down gracefully.
import closeWithGrace from 'close-with-grace'
import type { FastifyInstance } from 'fastify'
import { buildApp } from './app.js'
import { ConfigError, loadConfig, misspeltVariables, type Config } from './config.js'
import { loggerOptions } from './logger.js'

/** A mistake in the configuration (a bad value, a DATA_DIR that cannot be written) is one line and exit 1. */
function exitOnConfigError (err: unknown): never {
  if (!(err instanceof ConfigError)) throw err
  process.stderr.write(`linkgate: invalid configuration: ${err.message}\n`)
  process.exit(1)
}

function loadOrExit (): Config {
  for (const { name, meant } of misspeltVariables()) process.stderr.write(`linkgate: warning: ${name} is not read (did you mean ${meant}?)\n`)
  try {
    return loadConfig()
  } catch (err) {
    exitOnConfigError(err)
  }
}

/** The first lines a person sees: how to try it. The demo token is printed, never logged. */
function banner (config: Config, token: string | null): string {
  const base = config.publicUrl
  const auth = '-H "Authorization: Bearer $TOKEN"'
  const lines = [
    `Linkgate starting on ${base}`,
    `  link store: ${config.redis === null ? 'memory (embedded)' : `redis (${config.redis.topology})`}; object store: ${config.s3 === null ? `local disk at ${config.dataDir} (embedded)` : `s3 bucket ${config.s3.bucket}`}`,
    ''
  ]
  if (token === null && !config.acceptHs256) {
    lines.push(`Use an access token of your identity provider (${config.oidc?.issuer ?? ''}, audience ${config.oidc?.audience ?? ''}; see docs/identity.md):`,
      '  export TOKEN=<access token>')
  } else if (token === null) {
    lines.push('Get a token signed with your JWT_SECRET:', '  export TOKEN=$(npm run -s token -- alice)')
  } else {
    lines.push('Try it with this demo token (valid 24 h, for this process only; set JWT_SECRET to use your own):',
      `  export TOKEN=${token}`)
  }
  lines.push(
    'Upload a file and get a share link in one step:',
    `  curl ${auth} -F file=@README.md '${base}/v1/files?share=true'`,
    'Or stream any body (unknown length is fine):',
    `  echo hello | curl ${auth} -X POST -T - '${base}/v1/files?filename=hello.txt&share=true&maxDownloads=3'`,
    'Then open the "link.url" of the answer, or: curl -iL <link.url>',
    ''
  )
  return lines.join('\n')
}

const config = loadOrExit()
let app: FastifyInstance
try {
  app = await buildApp(config, { logger: loggerOptions(config.logLevel) })
} catch (err) {
  exitOnConfigError(err)
}

// In-flight uploads get SHUTDOWN_GRACE seconds, then are aborted (see routes/upload.ts);
// close-with-grace's own deadline is only the last resort after that.
closeWithGrace({ delay: (config.shutdownGrace + 10) * 1000 }, async ({ signal, err }) => {
  if (err !== undefined) app.log.error({ err }, 'closing after an error')
  else app.log.info({ signal }, 'shutting down')
  await app.close()
})

await app.ready()
// Only once the port is ours (and before Fastify's own "listening" line): a gateway that
// cannot listen shows no way to try it and hands out no token.
app.server.once('listening', () => {
  const token = config.jwtSecretGenerated && config.acceptHs256 ? app.jwt.sign({ sub: 'demo' }, { expiresIn: '24h' }) : null
  process.stdout.write(banner(config, token) + '\n')
})
try {
  await app.listen({ host: config.host, port: config.port })
} catch (err) {
  const { code, message } = err as NodeJS.ErrnoException
  const reason = code === 'EADDRINUSE' ? 'the address is already in use (another process listens there: stop it, or set PORT or HOST)' : message
  process.stderr.write(`linkgate: cannot listen on ${config.host}:${config.port}: ${reason}\n`)
  process.exit(1)
}
