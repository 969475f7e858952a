#!/usr/bin/env bash
# Builds the browser client (Rust → wasm → wasm-bindgen) and the web app into
# web/dist, with gzip and brotli copies of the files the server sends precompressed.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --locked --profile release-wasm --target wasm32-unknown-unknown -p tavolo-client-wasm
raw=target/wasm32-unknown-unknown/release-wasm/tavolo_client_wasm.wasm
if command -v wasm-opt >/dev/null 2>&1; then
  # Only folds identical functions. -Oz makes the module 10% smaller but
  # less compressible: 464 KB brotli against 415 KB without it (2026-12-05,
  # BENCHMARKS.md), and phones download it compressed.
  # Before wasm-bindgen: Debian's binaryen breaks wasm-bindgen's output.
  wasm-opt --duplicate-function-elimination --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext --enable-mutable-globals \
    "$raw" -o target/tavolo_client_wasm.opt.wasm
  raw=target/tavolo_client_wasm.opt.wasm
fi
mkdir -p web/src/wasm
wasm-bindgen --target web --out-dir web/src/wasm --out-name tavolo_client_wasm "$raw"
(cd web && npm run build)
node web/scripts/compress.mjs web/dist
