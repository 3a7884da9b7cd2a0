# The synapse-orchestrator image.
#
#   docker build -t synapse-orchestrator:latest .
#   docker build --build-arg BASE_IMAGE=local/node-base:20 -t synapse-orchestrator:latest .   (no registry:
#       the base made by scripts/build-node-base-image.sh from this machine's Node 20)
#
# BASE_IMAGE must hold Node 20 (node and npm on PATH) and a POSIX /bin/sh. tini is taken from it when it has
# /usr/bin/tini, else installed with apt-get (Debian-based images such as the default). Works with the
# classic builder and with BuildKit (no BuildKit-only syntax, no syntax directive to fetch).
#
# Stages: `modules` installs every dependency from the lock file (cached until package-lock.json changes);
# `build` compiles src/ with them; `production-modules` prunes the dev dependencies from the same install
# (no second download); the runtime stage gets the compiled code and the production modules only.
ARG BASE_IMAGE=node:20-bookworm-slim

FROM ${BASE_IMAGE} AS modules
WORKDIR /src
COPY package.json package-lock.json ./
# No install scripts: nothing the build or the runtime needs has one (package.json's allowScripts lists
# the packages that ship one, all false); their native extras are optional.
RUN npm ci --ignore-scripts --no-audit --no-fund --no-update-notifier

FROM modules AS build
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

FROM modules AS production-modules
RUN npm prune --omit=dev --ignore-scripts --no-audit --no-fund --no-update-notifier

FROM ${BASE_IMAGE}
# tini as PID 1: it forwards SIGTERM to node and reaps the zombies node would not.
RUN if [ ! -x /usr/bin/tini ]; then \
      apt-get update \
      && apt-get install -y --no-install-recommends tini \
      && rm -rf /var/lib/apt/lists/*; \
    fi \
    && /usr/bin/tini --version
ENV NODE_ENV=production
WORKDIR /app
COPY package.json ./
COPY examples ./examples
COPY --from=production-modules /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
# `synapse-orchestrator` on PATH: `docker compose exec workflow-orchestrator synapse-orchestrator status`.
RUN ln -s /app/dist/cli.js /usr/local/bin/synapse-orchestrator

# Runs as root, as SWO's image did: it talks to the host's Docker engine through the mounted socket
# (whose group differs from host to host), and that access is root-equivalent anyway.
EXPOSE 8484
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
  CMD ["node", "/app/dist/cli.js", "health"]
# Any command runs under tini too: `docker compose run --rm workflow-orchestrator synapse-orchestrator validate`.
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "/app/dist/cli.js", "run"]

# Last, so that a new revision or date only changes this step. VERSION, REVISION and CREATED are empty
# unless given: --build-arg VERSION="$(node -p "require('./package.json').version")" --build-arg REVISION="$(git rev-parse HEAD)".
ARG BASE_IMAGE
ARG VERSION=
ARG REVISION=
ARG CREATED=
LABEL org.opencontainers.image.title="synapse-orchestrator" \
      org.opencontainers.image.description="Runs the evaluation side of Synapse challenges: polls evaluation queues, runs each submission's workflow in containers, uploads logs, sets the final status and tells participants. A drop-in replacement for SynapseWorkflowOrchestrator." \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.base.name="${BASE_IMAGE}"
