#!/usr/bin/env bash
# Installs what building and testing Tavolo needs, idempotently: the wasm
# target, and the npm packages of the stock-client interop test. Node.js and
# npm come with the machine; anything missing is said plainly.
set -euo pipefail
cd "$(dirname "$0")/.."

need() { command -v "$1" >/dev/null 2>&1 || { echo "setup: $1 is required but not installed" >&2; exit 1; }; }
need cargo
need rustup

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  rustup target add wasm32-unknown-unknown
fi

if [ "${1:-}" != "--no-node" ]; then
  need node
  need npm
  lock=tests/interop-js/package-lock.json
  stamp=tests/interop-js/node_modules/.tavolo-installed
  if [ ! -f "$stamp" ] || [ "$lock" -nt "$stamp" ]; then
    # npm ci rejects the lock npm 11 writes for cbor-extract's optional
    # platform packages; install honours the lock all the same.
    (cd tests/interop-js && npm install --no-audit --no-fund --loglevel=error)
    touch "$stamp"
  fi
fi
