# papgate: the Node service. Built with `npm ci` (its `prepare` script
# compiles the TypeScript to dist/), run with `node dist/src/cli.js serve`.
# One pinned base for every stage; the last stage is the default target.
ARG NODE_IMAGE=node:20.20.2-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
# better-sqlite3 compiles from source when no prebuilt binary matches.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json tsconfig.json ./
COPY src ./src
RUN npm ci && npm prune --omit=dev

# SIPp for `docker compose --profile test` (scripts/test-compose.sh):
# Debian's sip-tester, the same SIPp 3.6.1 the embedded tests use.
FROM ${NODE_IMAGE} AS sipp
RUN apt-get update \
 && apt-get install -y --no-install-recommends sip-tester \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /tmp
ENTRYPOINT ["sipp"]
CMD ["-v"]

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    PAPGATE_DB=/var/lib/papgate/papgate.db
WORKDIR /app
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY prompts ./prompts
# Read at run time from the package root, not compiled into dist/.
COPY src/admin/web/static ./src/admin/web/static
RUN mkdir -p /var/lib/papgate && chown node:node /var/lib/papgate
USER node
VOLUME ["/var/lib/papgate"]
# 8080 provisioning (phones), 8081 admin, 8085 FreeSWITCH's outbound event socket
EXPOSE 8080 8081 8085
CMD ["node", "dist/src/cli.js", "serve"]
