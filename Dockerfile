# Parley in a container: the bundle (dist/parley.js, `deno task bundle`)
# on the Deno runtime image, as an unprivileged user, data in a volume.
# Build: docker build -t parley .    Run and configure: docs/deploy.md.
# (Written and checked by reading: the development machine cannot pull images.)

ARG DENO_VERSION=2.9.6

# --- build: one JavaScript file with every npm dependency inlined ---
FROM denoland/deno:${DENO_VERSION} AS build
WORKDIR /src
COPY deno.json deno.lock ./
COPY main.ts ./
COPY src ./src
RUN deno task bundle \
 && deno run --allow-all dist/parley.js --version

# --- run: the runtime image and the bundle, nothing else from the source tree ---
FROM denoland/deno:debian-${DENO_VERSION}
# The image's `deno` user (uid 1993) owns the data directory and nothing else.
RUN mkdir -p /var/lib/parley /opt/parley \
 && chown deno:deno /var/lib/parley
COPY --from=build /src/dist/parley.js /opt/parley/parley.js
# Deno's cache stays in the image's /deno-dir (owned by deno), outside the volume.
ENV DENO_NO_UPDATE_CHECK=1
USER deno
# config.json here is found without --config (relative paths in it, e.g. dataDir
# and certificates, are relative to it); without one, the embedded default
# serves localhost with SQLite and a self-signed certificate under ./data.
WORKDIR /var/lib/parley
VOLUME ["/var/lib/parley"]
# c2s STARTTLS, c2s direct TLS, s2s, s2s direct TLS, HTTPS (BOSH, WebSocket, upload).
# Port 5280 (plain HTTP: /health, /metrics) listens on 127.0.0.1 by default.
EXPOSE 5222 5223 5269 5270 5281
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["deno", "eval", "const r = await fetch('http://127.0.0.1:5280/health').catch(() => null); Deno.exit(r?.ok ? 0 : 1);"]
# SIGTERM (docker stop) shuts down cleanly; SIGHUP (docker kill -s HUP) reloads.
STOPSIGNAL SIGTERM
ENTRYPOINT ["deno", "run", "--allow-all", "/opt/parley/parley.js"]
CMD ["serve"]
