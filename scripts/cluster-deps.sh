#!/usr/bin/env bash
# Installs what the multi-node tests and checks need, from Debian's
# packages: PostgreSQL (15 on Debian 12), nginx, curl, and docker-compose
# (only to validate docker-compose.yml offline; no Docker daemon is used).
# Does nothing when all is there, so a second run costs a fraction of a second.
#
#   scripts/cluster-deps.sh              all of it
#   scripts/cluster-deps.sh --no-compose without docker-compose
#
# Debian's packages do not start their services here (no init system); the
# tests start their own throwaway PostgreSQL and nginx (scripts/cluster.sh).
set -euo pipefail

with_compose=true
for arg in "$@"; do
  case $arg in
    --no-compose) with_compose=false ;;
    -h|--help) sed -n '2,11s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) echo "cluster-deps: unknown option $arg" >&2; exit 2 ;;
  esac
done

# Package (a Debian package name) and a file it provides, to tell whether it
# is already there without asking dpkg about each.
wanted=(
  "postgresql:/usr/lib/postgresql/*/bin/initdb"
  "nginx:/usr/sbin/nginx"
  "curl:/usr/bin/curl"
)
$with_compose && wanted+=("docker-compose:/usr/bin/docker-compose")

missing=()
for entry in "${wanted[@]}"; do
  pkg=${entry%%:*}
  pattern=${entry#*:}
  # shellcheck disable=SC2086  # the pattern is a glob on purpose
  if ! compgen -G $pattern >/dev/null; then
    missing+=("$pkg")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "cluster-deps: need root (or sudo) to install ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
echo "cluster-deps: installing ${missing[*]}" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
