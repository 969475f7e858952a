# syntax=docker/dockerfile:1
#
# Tavolo's server image: the release build of tavolo-server and the built
# web app (wasm client included) on Debian slim, running as a non-root user.
#
#   docker build -t tavolo-server .
#   docker run -p 8080:8080 -v tavolo-data:/var/lib/tavolo tavolo-server
#
# Needs BuildKit (Docker 23 or later, or DOCKER_BUILDKIT=1) for the cache
# mounts. Options go in the environment (TAVOLO_*; see docs/deploy/) or
# after the image name: `docker run tavolo-server --help`.

ARG RUST_VERSION=1.95
ARG NODE_VERSION=20
ARG DEBIAN_RELEASE=bookworm

FROM node:${NODE_VERSION}-${DEBIAN_RELEASE}-slim AS node

FROM rust:${RUST_VERSION}-${DEBIAN_RELEASE} AS rust
ENV CARGO_TERM_COLOR=never \
    CARGO_NET_RETRY=5
WORKDIR /src

# ---- wasm-bindgen's CLI, at the version of the wasm-bindgen crate in
# Cargo.lock (they must match; see scripts/setup.sh). Rebuilt only when
# Cargo.lock changes, and then from a warm cache. (No --locked: it fails, a
# pinned dependency of the CLI is missing from the registry.)
FROM rust AS wasm-bindgen
COPY Cargo.lock ./
RUN --mount=type=cache,id=tavolo-cargo-registry-bindgen,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,id=tavolo-target-bindgen,target=/tmp/target,sharing=locked \
    set -eu; \
    version=$(awk '/^name = "wasm-bindgen"$/ {getline; gsub(/version = |"/, ""); print; exit}' Cargo.lock); \
    test -n "$version"; \
    cargo install wasm-bindgen-cli --version "=$version" --root /opt/wasm-bindgen --target-dir /tmp/target; \
    /opt/wasm-bindgen/bin/wasm-bindgen --version

# ---- The web app: scripts/build-web.sh as a developer runs it (the wasm
# client through rustc, wasm-opt and wasm-bindgen, then Vite, then the
# .br/.gz copies the server sends) into /src/web/dist.
FROM rust AS web
RUN apt-get update \
 && apt-get install -y --no-install-recommends binaryen \
 && rm -rf /var/lib/apt/lists/*
RUN rustup target add wasm32-unknown-unknown
COPY --from=node /usr/local/bin/node /usr/local/bin/node
COPY --from=node /usr/local/lib/node_modules /usr/local/lib/node_modules
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
 && node --version && npm --version
COPY --from=wasm-bindgen /opt/wasm-bindgen/bin/wasm-bindgen /usr/local/bin/wasm-bindgen
# npm packages first, so that a source change does not reinstall them.
# (npm install, not npm ci: ci rejects the locks npm 11 writes for optional
# platform packages; install honours the lock all the same.)
COPY web/package.json web/package-lock.json web/
RUN --mount=type=cache,id=tavolo-npm,target=/root/.npm,sharing=locked \
    cd web && npm install --no-audit --no-fund --loglevel=error
COPY . .
RUN --mount=type=cache,id=tavolo-cargo-registry-web,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,id=tavolo-target-web,target=/src/target,sharing=locked \
    bash scripts/build-web.sh \
 && test -f web/dist/index.html

# ---- The server, in release.
FROM rust AS server
COPY . .
# If queries are checked at compile time (sqlx), they are checked against
# the prepared metadata in .sqlx/, never against a live database.
ENV SQLX_OFFLINE=true
RUN --mount=type=cache,id=tavolo-cargo-registry-server,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,id=tavolo-cargo-git-server,target=/usr/local/cargo/git,sharing=locked \
    --mount=type=cache,id=tavolo-target-server,target=/src/target,sharing=locked \
    cargo build --release --locked -p tavolo-server \
 && mkdir -p /out \
 && cp target/release/tavolo-server /out/tavolo-server \
 && strip --strip-debug /out/tavolo-server

# ---- What runs.
FROM debian:${DEBIAN_RELEASE}-slim
LABEL org.opencontainers.image.title="Tavolo" \
      org.opencontainers.image.description="Real-time collaborative board for facilitated participatory sessions" \
      org.opencontainers.image.licenses="AGPL-3.0-or-later"
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/*
# The health check asks the port the server listens on (TAVOLO_ADDR).
RUN printf '%s\n' '#!/bin/sh' \
      'port=${TAVOLO_ADDR##*:}' \
      'exec curl -fsS -o /dev/null --max-time 3 "http://127.0.0.1:${port:-8080}/healthz"' \
      >/usr/local/bin/tavolo-healthcheck \
 && chmod 0755 /usr/local/bin/tavolo-healthcheck
RUN groupadd --system --gid 10001 tavolo \
 && useradd --system --uid 10001 --gid tavolo --home-dir /var/lib/tavolo --no-create-home \
      --shell /usr/sbin/nologin tavolo \
 && install -d -o tavolo -g tavolo -m 0750 /var/lib/tavolo
COPY --from=server /out/tavolo-server /usr/local/bin/tavolo-server
COPY --from=web /src/web/dist /usr/share/tavolo/web
# Fail here, not at start, if the binary needs a library this image lacks
# (for example libssl3 for a native-TLS database driver: add its package above).
RUN if ldd /usr/local/bin/tavolo-server | grep 'not found'; then \
      echo 'tavolo-server needs the libraries above: add their Debian packages to this stage' >&2; exit 1; \
    fi \
 && tavolo-server --version

ENV TAVOLO_ADDR=0.0.0.0:8080 \
    TAVOLO_DATA_DIR=/var/lib/tavolo \
    TAVOLO_WEB_DIR=/usr/share/tavolo/web
VOLUME ["/var/lib/tavolo"]
EXPOSE 8080
USER tavolo:tavolo
WORKDIR /var/lib/tavolo
# 200 while storage works; 503 when the database cannot be read or saving fails.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["/usr/local/bin/tavolo-healthcheck"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/tavolo-server"]
