# syntax=docker/dockerfile:1
#
# Linkgate container image.
#
#   docker build -t linkgate .
#   docker run --rm -p 3000:3000 linkgate                  # embedded mode (memory links, local bytes)
#   docker compose up --build                              # Redis + MinIO, see docker-compose.yml
#
# The repository has no .dockerignore, so every COPY below names its source
# explicitly: node_modules/, dist/ and data/ from the host never enter the image.

# Node 24, the current LTS (package.json still allows >= 20.19, and .ci/run
# tests both 20 and 24). The tag floats within 24.x on purpose, to pick up
# security releases on rebuild.
ARG NODE_IMAGE=node:24-bookworm-slim

# ---------------------------------------------------------------------------
# build: install all deps, compile TypeScript, then drop the devDependencies.
# ---------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app

# Dependencies first, in their own layer, so a source change does not
# reinstall them. --ignore-scripts skips `prepare` (tsc) here because the
# sources are not copied yet; no runtime dependency has an install script.
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund

# Compile: `npm run build` is the same `tsc` that `prepare` runs on `npm ci`.
COPY tsconfig.json ./
COPY src ./src
COPY plugins ./plugins
RUN npm run build

# Keep only production dependencies for the runtime stage.
RUN npm prune --omit=dev --ignore-scripts --no-audit --no-fund

# ---------------------------------------------------------------------------
# runtime: node_modules (prod), dist/, package.json; nothing else.
# ---------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app

# Code stays root-owned (read-only to the app user); only data/ is writable.
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist

# DATA_DIR defaults to ./data (embedded mode only); make it writable by the
# unprivileged user so `docker run` without Redis/S3 works out of the box.
RUN mkdir -p /app/data && chown node:node /app/data

# The official image ships the unprivileged `node` user (uid 1000).
USER node

EXPOSE 3000

# Liveness only (/healthz); readiness of Redis and the bucket is /readyz.
# Slim images have no curl, so use Node's global fetch.
HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/healthz', { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

# Run node directly (exec form, not `npm start`) so node is PID 1 and gets
# SIGTERM from `docker stop` itself; the server handles it (close-with-grace).
CMD ["node", "dist/src/server.js"]
