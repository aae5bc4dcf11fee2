#!/usr/bin/env bash
# Import each suite's cached rootfs as jsec-interop-base:<suite> and build
# jsec-interop:<suite> from Dockerfile.interop. Skips work whose inputs did not
# change (a content key is stored as an image label).
# Needs a running Docker engine (interop/main.ts starts one; or run dockerd yourself).
# Usage: interop/setup/images.sh [suite ...]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
# shellcheck source=common.sh
. "$here/common.sh"

deno_bin="$(readlink -f "$root/node_modules/.bin/deno")"
bun_bin="$(readlink -f "$root/node_modules/.bin/bun")"
[ -x "$deno_bin" ] && [ -x "$bun_bin" ] ||
  { log "deno/bun missing under node_modules: run 'npm install' in $root"; exit 1; }

label_of() { docker image inspect -f "{{ index .Config.Labels \"$2\" }}" "$1" 2>/dev/null || true; }

import_base() {
  local suite="$1" tar="$JSEC_CACHE/rootfs/$1.tar" key
  key="$(stat -c %Y-%s "$tar")"
  if [ "$(label_of "$JSEC_BASE_IMAGE:$suite" jsec.rootfs)" = "$key" ]; then return 0; fi
  log "image $JSEC_BASE_IMAGE:$suite: docker import"
  docker import --change "LABEL jsec.rootfs=$key" --change 'CMD ["/bin/bash"]' \
    "$tar" "$JSEC_BASE_IMAGE:$suite" >/dev/null
}

build_tool() {
  local suite="$1" ctx="$JSEC_CACHE/context" key start
  key="$(
    {
      cat "$root/Dockerfile.interop"
      docker image inspect -f '{{.Id}}' "$JSEC_BASE_IMAGE:$suite"
      sha256sum "$deno_bin" "$bun_bin" | cut -d' ' -f1
    } | sha256sum | cut -c1-32
  )"
  if [ "$(label_of "$JSEC_TOOL_IMAGE:$suite" jsec.key)" = "$key" ]; then
    log "image $JSEC_TOOL_IMAGE:$suite: cached"
    return 0
  fi
  start=$(date +%s)
  log "image $JSEC_TOOL_IMAGE:$suite: building"
  if ! DOCKER_BUILDKIT=0 docker build -q -f "$root/Dockerfile.interop" \
    --build-arg "SUITE=$suite" --label "jsec.key=$key" \
    -t "$JSEC_TOOL_IMAGE:$suite" "$ctx" >"$JSEC_CACHE/build-$suite.log" 2>&1; then
    log "image $JSEC_TOOL_IMAGE:$suite: build failed, see $JSEC_CACHE/build-$suite.log"
    tail -n 20 "$JSEC_CACHE/build-$suite.log" >&2
    return 1
  fi
  log "image $JSEC_TOOL_IMAGE:$suite: built in $(($(date +%s) - start)) s"
}

main() {
  local suites=("$@")
  [ ${#suites[@]} -gt 0 ] || read -r -a suites <<<"$JSEC_SUITES"
  docker info >/dev/null 2>&1 || { log "no Docker engine answers"; exit 1; }
  # Build context: just the two runtime binaries (hard links when possible).
  mkdir -p "$JSEC_CACHE/context"
  for pair in "deno:$deno_bin" "bun:$bun_bin"; do
    local src="${pair#*:}" dst="$JSEC_CACHE/context/${pair%%:*}"
    if ! cmp -s "$src" "$dst" 2>/dev/null; then
      rm -f "$dst"
      ln "$src" "$dst" 2>/dev/null || cp "$src" "$dst"
    fi
  done
  for s in "${suites[@]}"; do import_base "$s"; done
  two_at_a_time build_tool "${suites[@]}"
}

main "$@"
