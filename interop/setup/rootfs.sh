#!/usr/bin/env bash
# Build (or reuse from the cache) a minimal Debian root filesystem per suite:
#   $JSEC_CACHE/rootfs/<suite>/       the unpacked tree (also used by the chroot fallback)
#   $JSEC_CACHE/rootfs/<suite>.tar    the same tree as a tarball, for `docker import`
# Usage: interop/setup/rootfs.sh [suite ...]   (default: all suites, in parallel)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=common.sh
. "$here/common.sh"

# experimental is not a whole suite: sid's tree (from its pristine tarball) with
# experimental's OpenSSL pinned above sid's, so that the image's
# `apt-get install openssl libssl-dev` takes 4.0 and everything else stays sid.
from_sid() { # from_sid DIR MIRROR
  log "rootfs experimental: sid plus experimental's OpenSSL"
  tar -C "$1" -xf "$JSEC_CACHE/rootfs/sid.tar"
  rm -f "$1"/.jsec-*
  printf 'deb %s sid main\ndeb %s experimental main\n' "$2" "$2" >"$1/etc/apt/sources.list"
  printf 'Package: %s\nPin: release a=experimental\nPin-Priority: 990\n' "$JSEC_EXPERIMENTAL_PACKAGES" \
    >"$1/etc/apt/preferences.d/90jsec-experimental"
}

build_one() {
  local suite="$1" dir="$JSEC_CACHE/rootfs/$1" tar="$JSEC_CACHE/rootfs/$1.tar"
  if [ -f "$tar" ] && [ -f "$dir/.jsec-complete" ] &&
    { [ "$suite" != experimental ] || [ ! "$JSEC_CACHE/rootfs/sid.tar" -nt "$tar" ]; }; then
    log "rootfs $suite: cached"
    return 0
  fi
  local mirror start
  mirror="$(host_mirror)"
  start=$(date +%s)
  rm -rf "$dir" "$tar"
  mkdir -p "$dir"
  if [ "$suite" = experimental ]; then
    from_sid "$dir" "$mirror"
  else
    log "rootfs $suite: debootstrap --variant=minbase from $mirror"
    if ! debootstrap --variant=minbase "$suite" "$dir" "$mirror" \
      >"$JSEC_CACHE/rootfs/$suite.log" 2>&1; then
      log "rootfs $suite: debootstrap failed, see $JSEC_CACHE/rootfs/$suite.log"
      tail -n 20 "$JSEC_CACHE/rootfs/$suite.log" >&2
      return 1
    fi
    # Apt inside the image uses the host's mirror, without recommends, quietly.
    printf 'deb %s %s main\n' "$mirror" "$suite" >"$dir/etc/apt/sources.list"
  fi
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
  # experimental is made from sid's tarball: sid first, then it.
  local base=() derived=()
  for s in "${suites[@]}"; do
    if [ "$s" = experimental ]; then derived+=("$s"); else base+=("$s"); fi
  done
  [ ${#derived[@]} -eq 0 ] || [[ " ${base[*]} " == *" sid "* ]] || base+=(sid)
  two_at_a_time build_one "${base[@]}"
  [ ${#derived[@]} -eq 0 ] || build_one experimental
}

main "$@"
