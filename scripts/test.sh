#!/usr/bin/env bash
# Runs every Tavolo test. Installs what the tests need first; each install
# is skipped when already done, so a second run starts testing at once.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

# A clean checkout gains nothing from incremental caches, which doubled
# target/ on CI machines short of disk.
if [[ "${CI:-}" == "true" ]]; then
  export CARGO_INCREMENTAL=0
fi
disk() { df -h . | awk 'NR==2 {print "disk: " $4 " free"}'; }
disk

step "toolchain and test dependencies"
scripts/setup.sh --test

step "formatting"
cargo fmt --all --check

step "lints"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "deployment files: docker-compose.yml (docker-compose config, no daemon) and the nginx configurations (nginx -t)"
scripts/cluster.sh check-compose
scripts/cluster.sh check-nginx

step "model and sync build for the browser (wasm32)"
cargo build --locked -p tavolo-model -p tavolo-sync --target wasm32-unknown-unknown

step "server binary, built as the integration tests build it (they start it)"
cargo build --locked -p tavolo-server --bin tavolo-server
disk

step "unit, integration, crash-loop and interop tests"
cargo test --workspace --locked

step "fan-out smoke: 50 thin clients and 3 writers on one session, every scenario (asserts completion and convergence only)"
cargo build --locked -p tavolo-bench
TAVOLO_SERVER_BIN=target/debug/tavolo-server target/debug/tavolo-bench fleet --smoke

step "fan-out smoke, side by side: the same brainstorm on the plain relay and the stock automerge-repo server"
TAVOLO_SERVER_BIN=target/debug/tavolo-server target/debug/tavolo-bench fleet --smoke --scenario brainstorm --servers relay,automerge-repo

step "several nodes, smoke: sessions spread over two nodes on one PostgreSQL (asserts completion and convergence only)"
TAVOLO_SERVER_BIN=target/debug/tavolo-server target/debug/tavolo-bench nodes --smoke --nodes 2

step "browser client tests (wasm, in node)"
cargo test --locked -p tavolo-client-wasm --target wasm32-unknown-unknown

step "web app: build and unit tests"
scripts/build-web.sh
(cd web && npm test)

step "browser end-to-end tests (Chromium, phone viewports)"
(cd tests/e2e && npm test)
