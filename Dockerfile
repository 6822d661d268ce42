# One image for every Ponte service: Node.js 24 LTS runs the TypeScript sources directly (type stripping).
# Build: docker build -t ponte .        Run one service: docker run -e SERVICE=consent ponte
# syntax=docker/dockerfile:1

FROM node:24-bookworm-slim AS deps
WORKDIR /app
RUN npm install -g pnpm@11.28.10
COPY package.json pnpm-lock.yaml pnpm-workspace.yaml ./
COPY packages/contracts/package.json packages/contracts/
COPY packages/platform/package.json packages/platform/
COPY packages/pki/package.json packages/pki/
COPY packages/testkit/package.json packages/testkit/
COPY bench/package.json bench/
COPY services/gateway/package.json services/gateway/
COPY services/auth-server/package.json services/auth-server/
COPY services/consent/package.json services/consent/
COPY services/traffic/package.json services/traffic/
COPY services/connectors/package.json services/connectors/
COPY services/trace/package.json services/trace/
COPY services/directory/package.json services/directory/
COPY services/admin/package.json services/admin/
RUN pnpm install --frozen-lockfile --prod

FROM node:24-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app /app
COPY packages ./packages
COPY services ./services
COPY specs ./specs
COPY scripts ./scripts
RUN useradd --system --uid 10001 ponte && chown -R ponte /app
USER ponte
ENV SERVICE=consent
# Each service's readiness is checked by docker compose (see docker-compose.yml).
CMD ["sh", "-c", "cd services/$SERVICE && exec node --import @ponte/platform/otel src/main.ts"]
