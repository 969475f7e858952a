#!/usr/bin/env bash
# Builds and runs Tavolo with SQLite in ./data, creating a demo session from
# the built-in template (the seed's Tavolo di Negoziazione) on first start,
# and prints its join code and facilitator link. Options are passed on:
#   scripts/run.sh --addr 0.0.0.0:8080
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --no-node
cargo build --release --locked -p tavolo-server
exec target/release/tavolo-server --demo --data-dir "${TAVOLO_DATA_DIR:-./data}" "$@"
