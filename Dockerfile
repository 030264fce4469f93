# order-service image: Node 24 runs the TypeScript sources directly (it strips types), so the
# build is only the production dependencies. Built by compose.yaml; `docker build .` works too.

FROM node:24.11.1-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# Exactly the lockfile, without dev dependencies (the test tools and the `node` npm package).
RUN npm ci --omit=dev --no-audit --no-fund

FROM node:24.11.1-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json package-lock.json ./
COPY src ./src
# The image's unprivileged user; the service writes nothing to disk.
USER node
EXPOSE 8080
CMD ["node", "--disable-warning=TimeoutNegativeWarning", "src/main.ts"]
