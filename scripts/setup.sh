#!/usr/bin/env bash
# Installs what @jsec/tls needs on a fresh Debian/Ubuntu machine: a C compiler,
# OpenSSL headers and CLI (apt), and the pinned Deno and Bun (npm).
# Idempotent and quiet when everything is there. Source it or run it.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

missing=()
command -v cc >/dev/null || missing+=(gcc libc6-dev)
[ -f /usr/include/openssl/ssl.h ] || missing+=(libssl-dev)
command -v openssl >/dev/null || missing+=(openssl)
command -v gnutls-cli >/dev/null || missing+=(gnutls-bin) # a DTLS and TLS test peer
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if [ ! -x "$root/node_modules/.bin/deno" ] || [ ! -x "$root/node_modules/.bin/bun" ] ||
  [ "$root/package-lock.json" -nt "$root/node_modules/.package-lock.json" ]; then
  echo "setup: installing Deno and Bun from npm" >&2
  # `npm ci`, not `npm install`: it installs exactly the lock and never rewrites it, so a fresh
  # clone stays clean. The lock lists every platform's optional Deno binary; a lock written by a
  # fresh `npm install` kept only this platform's, and the next `npm install` added the others back.
  (cd "$root" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi
