# The strangler sidecar image: compiled JavaScript (npm run build → dist/), production
# dependencies only, run as a non-root user. Build from the repository root:
#   docker build -t strangler-sidecar:0.1.0 .
# Config and spool are volumes: /etc/strangler/strangler.yaml (the migration spec, e.g. a
# Kubernetes ConfigMap) and /var/lib/strangler (the durable spool). Secrets come from the
# environment (STRANGLER_EVENTSTORE_URL, STRANGLER_LEGACY_DB_URL, admin tokens); see
# docs/operations.md, "Deploying", and k8s/.

ARG NODE_IMAGE=node:20-slim

# --- build: every dependency, compile src → dist ---------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build \
 && npm prune --omit=dev --no-audit --no-fund

# --- runtime ---------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
# A fixed numeric uid/gid (not the image's `node` user, 1000) so runAsUser/runAsNonRoot and
# volume ownership (fsGroup) can name it in Kubernetes.
RUN groupadd --system --gid 10001 strangler \
 && useradd --system --uid 10001 --gid strangler --home-dir /app --no-create-home --shell /usr/sbin/nologin strangler \
 && mkdir -p /etc/strangler /var/lib/strangler \
 && chown strangler:strangler /var/lib/strangler

COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/bin ./bin
# SQL files the event store migrations apply (`strangler migrate`, eventStore.migrateOnStart).
COPY --from=build /app/migrations ./migrations
# No src/ or examples/ next to dist/: the bin runs dist/ (it falls back to the sources only where
# they sit beside it and changed). The sample service and its projection and read modules are in
# dist/examples/legacy-orders (the build copies them), named by k8s/strangler.yaml. For your own
# service, build FROM this image, copy your modules in and name their absolute paths in the spec.
RUN ln -s /app/bin/strangler.mjs /usr/local/bin/strangler
# Where .ts projection and read modules are compiled to at start-up (a writable place; with a
# read-only root filesystem, mount an emptyDir at /tmp).
ENV STRANGLER_CACHE_DIR=/tmp/strangler-cache

USER 10001:10001
VOLUME ["/etc/strangler", "/var/lib/strangler"]
# The public port (server.port) and the admin port (admin.port: probes, /metrics, admin API).
EXPOSE 8080 9090

# /healthz answers 200 while the process serves the admin port (liveness, not readiness).
# STRANGLER_ADMIN_PORT, when set, moves the admin port and this check with it.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.STRANGLER_ADMIN_PORT || 9090) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

# `strangler start` drains on SIGTERM (stops accepting, finishes requests in flight and their
# appends, stops the loops after their batch, closes pools); node is PID 1 and handles it.
STOPSIGNAL SIGTERM
# The bin's own #! line carries its V8 flags (--max-semi-space-size=8, see bin/strangler.mjs):
# run it as a program, not as `node bin/strangler.mjs`, which would drop them.
ENTRYPOINT ["/app/bin/strangler.mjs"]
CMD ["start", "--config", "/etc/strangler/strangler.yaml"]
