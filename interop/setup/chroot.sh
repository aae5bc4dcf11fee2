#!/usr/bin/env bash
# Fallback without Docker: make each suite's cached rootfs folder runnable
# through chroot — the same packages Dockerfile.interop installs, plus the
# Deno and Bun binaries. Needs rootfs.sh first. Idempotent (marker file).
# Usage: interop/setup/chroot.sh [suite ...]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
# shellcheck source=common.sh
. "$here/common.sh"

prepare() {
  local suite="$1" dir="$JSEC_CACHE/rootfs/$1" start
  local deno_bin bun_bin
  deno_bin="$(readlink -f "$root/node_modules/.bin/deno")"
  bun_bin="$(readlink -f "$root/node_modules/.bin/bun")"
  [ -f "$dir/.jsec-complete" ] || { log "chroot $suite: no rootfs, run rootfs.sh"; return 1; }
  if [ ! -f "$dir/.jsec-chroot-ready" ]; then
    start=$(date +%s)
    log "chroot $suite: installing packages"
    cp /etc/resolv.conf "$dir/etc/resolv.conf"
    mountpoint -q "$dir/proc" || mount -t proc proc "$dir/proc"
    # shellcheck disable=SC2086
    if ! chroot "$dir" /bin/sh -c "apt-get -o Acquire::Check-Valid-Until=false update -qq &&
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $JSEC_PACKAGES $(suite_packages "$suite") &&
        apt-get clean" >"$JSEC_CACHE/chroot-$suite.log" 2>&1; then
      umount "$dir/proc" || true
      log "chroot $suite: apt failed, see $JSEC_CACHE/chroot-$suite.log"
      return 1
    fi
    umount "$dir/proc" || true
    touch "$dir/.jsec-chroot-ready"
    log "chroot $suite: ready in $(($(date +%s) - start)) s"
  fi
  cmp -s "$deno_bin" "$dir/usr/local/bin/deno" || install -m 0755 "$deno_bin" "$dir/usr/local/bin/deno"
  cmp -s "$bun_bin" "$dir/usr/local/bin/bun" || install -m 0755 "$bun_bin" "$dir/usr/local/bin/bun"
  mkdir -p "$dir/var/cache/deno"
}

main() {
  local suites=("$@") failed=0
  [ ${#suites[@]} -gt 0 ] || read -r -a suites <<<"$JSEC_SUITES"
  for s in "${suites[@]}"; do prepare "$s" || failed=1; done
  return $failed
}

main "$@"
