# The image of the `emulator`, `issue` and `tests` services of docker-compose.test.yml:
# Node 20 on Debian bookworm with the Debian programs the suite runs (nsd, pebble, certbot,
# lego, dehydrated, openssl; docker-compose only to validate docker-compose.test.yml, no
# engine), the npm dependencies from package-lock.json and the built dist/.
# Build context: the repository root. Only the listed paths are copied (never a host
# node_modules or dist: tsx's esbuild binary must match the image's platform).
FROM node:20-bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      nsd pebble certbot lego dehydrated openssl ca-certificates docker-compose \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json tsconfig.test.json vitest.config.ts README.md docker-compose.test.yml ./
COPY src ./src
COPY hooks ./hooks
COPY docs ./docs
COPY test ./test
RUN npm run build
