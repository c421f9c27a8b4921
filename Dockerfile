# wiresync: one image for the API, the workers and the standalone server.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# Patches applied to dependencies after install (postinstall: patch-package).
COPY .ci/patches .ci/patches
RUN npm ci
COPY tsconfig.json tsconfig.build.json ./
COPY apps apps
COPY src src
COPY workers workers
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
# wireguard-tools and wireguard-go for the peer-sync worker (kernel module or userspace); iproute2 for `ip`.
RUN apt-get update \
  && apt-get install -y --no-install-recommends wireguard-tools wireguard-go iproute2 \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production PORT=8080 DATA_DIR=/data
COPY --from=build /app/node_modules node_modules
COPY --from=build /app/dist dist
COPY --from=build /app/package.json package.json
COPY drizzle drizzle
COPY apps/dashboard/public apps/dashboard/public
VOLUME /data
EXPOSE 8080
CMD ["node", "dist/apps/api/main.js"]
