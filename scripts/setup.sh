#!/usr/bin/env bash
# Installs what building (and, with --test, testing) Tavolo needs. Every step
# is skipped when already done, so a second run costs a second or two.
#
#   scripts/setup.sh          toolchain pieces for building the server and web app
#   scripts/setup.sh --test   also Chromium and the npm packages the tests use
set -euo pipefail
cd "$(dirname "$0")/.."

need() { command -v "$1" >/dev/null 2>&1 || { echo "setup: $1 is required but not installed" >&2; exit 1; }; }
need cargo
need rustup
need node
need npm

with_test=false
[ "${1:-}" = "--test" ] && with_test=true

apt_install() {
  # Installs Debian packages that are missing (as root, or through sudo).
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  rustup target add wasm32-unknown-unknown
fi

# wasm-bindgen's CLI must equal the wasm-bindgen crate in Cargo.lock.
want=$(awk '/^name = "wasm-bindgen"$/ {getline; gsub(/version = |"/, ""); print; exit}' Cargo.lock)
have=$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)
if [ "$have" != "$want" ]; then
  # (--locked fails: a pinned dependency is missing from the registry)
  cargo install wasm-bindgen-cli --version "=$want"
fi

# Binaryen shrinks the wasm (run on rustc's output, before wasm-bindgen).
apt_install binaryen

npm_install() {
  # npm ci rejects the locks npm 11 writes for optional platform packages;
  # install honours the lock all the same.
  local dir=$1 stamp=$1/node_modules/.tavolo-installed
  if [ ! -f "$stamp" ] || [ "$dir/package-lock.json" -nt "$stamp" ] || [ "$dir/package.json" -nt "$stamp" ]; then
    (cd "$dir" && npm install --no-audit --no-fund --loglevel=error)
    touch "$stamp"
  fi
}
npm_install web

if $with_test; then
  npm_install tests/interop-js
  npm_install tests/e2e
  # The stock automerge-repo sync server the fan-out bench compares with.
  npm_install bench/stock
  # poppler-utils: pdftoppm and pdftotext, for the printed report (tests/e2e/report.test.mjs).
  # libreoffice-calc-nogui: the report's CSV opened by LibreOffice (tests/e2e/libreoffice.test.mjs).
  # libreoffice-writer-nogui: the report's ODT opened by LibreOffice Writer (same test file).
  apt_install chromium fonts-dejavu-core poppler-utils libreoffice-calc-nogui libreoffice-writer-nogui
  # PostgreSQL (initdb/pg_ctl for the throwaway clusters of the PostgreSQL
  # tests: tests/src/postgres.rs, which fail, never skip, without it), nginx
  # for the several-node tests, docker-compose to check docker-compose.yml
  # offline.
  scripts/cluster-deps.sh
fi
