#!/usr/bin/env bash
# Build (or reuse from the cache) a minimal Debian root filesystem per suite:
#   $JSEC_CACHE/rootfs/<suite>/       the unpacked tree (also used by the chroot fallback)
#   $JSEC_CACHE/rootfs/<suite>.tar    the same tree as a tarball, for `docker import`
# Usage: interop/setup/rootfs.sh [suite ...]   (default: all suites, in parallel)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=common.sh
. "$here/common.sh"

build_one() {
  local suite="$1" dir="$JSEC_CACHE/rootfs/$1" tar="$JSEC_CACHE/rootfs/$1.tar"
  if [ -f "$tar" ] && [ -f "$dir/.jsec-complete" ]; then
    log "rootfs $suite: cached"
    return 0
  fi
  local mirror start
  mirror="$(host_mirror)"
  start=$(date +%s)
  rm -rf "$dir" "$tar"
  mkdir -p "$dir"
  log "rootfs $suite: debootstrap --variant=minbase from $mirror"
  if ! debootstrap --variant=minbase "$suite" "$dir" "$mirror" \
    >"$JSEC_CACHE/rootfs/$suite.log" 2>&1; then
    log "rootfs $suite: debootstrap failed, see $JSEC_CACHE/rootfs/$suite.log"
    tail -n 20 "$JSEC_CACHE/rootfs/$suite.log" >&2
    return 1
  fi
  # Apt inside the image uses the host's mirror, without recommends, quietly.
  printf 'deb %s %s main\n' "$mirror" "$suite" >"$dir/etc/apt/sources.list"
  printf 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\nAcquire::Check-Valid-Until "false";\n' \
    >"$dir/etc/apt/apt.conf.d/90jsec"
  rm -rf "$dir/var/cache/apt/archives/"*.deb "$dir/var/lib/apt/lists/"*
  tar -C "$dir" --numeric-owner -cf "$tar.partial" .
  mv "$tar.partial" "$tar"
  touch "$dir/.jsec-complete"
  log "rootfs $suite: built in $(($(date +%s) - start)) s"
}

main() {
  ensure_host_pkg debootstrap debootstrap
  mkdir -p "$JSEC_CACHE/rootfs"
  local suites=("$@")
  [ ${#suites[@]} -gt 0 ] || read -r -a suites <<<"$JSEC_SUITES"
  two_at_a_time build_one "${suites[@]}"
}

main "$@"
