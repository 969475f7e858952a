#!/usr/bin/env bash
# Builds and runs Tavolo: the web app, then the server with SQLite in ./data.
# On first start it creates a demo session from the built-in template (the
# seed's Tavolo di Negoziazione) and prints its join code and facilitator
# link. Options are passed on, e.g.  scripts/run.sh --addr 0.0.0.0:8080
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build-web.sh
cargo build --release --locked -p tavolo-server
exec target/release/tavolo-server --demo --web-dir web/dist --data-dir "${TAVOLO_DATA_DIR:-./data}" "$@"
