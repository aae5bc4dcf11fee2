# Shared settings for the interop setup scripts. Source it; do not run it.
# shellcheck shell=bash

# Suites we test against, each paired with the OpenSSL major line it ships
# (experimental: sid with experimental's OpenSSL 4.0, see rootfs.sh).
JSEC_SUITES="${JSEC_SUITES:-bullseye bookworm trixie sid experimental}"

# The packages the experimental suite takes from experimental (OpenSSL 4.0 and what it pulls in).
JSEC_EXPERIMENTAL_PACKAGES="openssl libssl-dev libssl4 openssl-provider-legacy"

# Everything downloaded or built is cached here so reruns on one machine are fast.
JSEC_CACHE="${JSEC_INTEROP_CACHE:-/var/cache/jsec-interop}"

# Image names: the imported minbase and the tool image built from Dockerfile.interop.
JSEC_BASE_IMAGE="jsec-interop-base"
# JSEC_INTEROP_IMAGE renames the tool image (e.g. to build a variant beside the shared one).
JSEC_TOOL_IMAGE="${JSEC_INTEROP_IMAGE:-jsec-interop}"

# Packages every peer image carries (Dockerfile.interop installs the same list).
JSEC_PACKAGES="openssl libssl-dev gcc libc6-dev gnutls-bin libnss3-tools ca-certificates nodejs procps"

# Added where the suite packages pkcs11-provider (trixie and later): a SoftHSM2 token for the pkcs11 case.
JSEC_PKCS11_PACKAGES="softhsm2 pkcs11-provider"

# The extra packages of suite $1 (bullseye and bookworm have no pkcs11-provider).
suite_packages() {
  case "$1" in
  bullseye | bookworm) ;;
  *) printf '%s\n' "$JSEC_PKCS11_PACKAGES" ;;
  esac
}

log() { printf '[interop-setup] %s\n' "$*" >&2; }

# The Debian mirror the host's apt uses (first non-security URI), so that
# containers and chroots fetch from the same place.
host_mirror() {
  local uri
  uri="$(
    {
      cat /etc/apt/sources.list 2>/dev/null
      cat /etc/apt/sources.list.d/*.list 2>/dev/null
    } | awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) { print $i; break } }' |
      grep -v -- '-security' | grep -i debian | head -n 1
  )"
  if [ -z "$uri" ]; then
    uri="$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null |
      awk 'tolower($1) == "uris:" { for (i = 2; i <= NF; i++) print $i }' |
      grep -v -- '-security' | grep -i debian | head -n 1)"
  fi
  printf '%s\n' "${uri:-http://deb.debian.org/debian}"
}

# Install a Debian package on the host when its command is missing
# (apt-get update first only when the plain install fails).
ensure_host_pkg() { # ensure_host_pkg COMMAND PACKAGE
  if command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ]; then return 0; fi
  log "installing $2 on the host"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq "$2" >/dev/null 2>&1 ||
    { apt-get update -qq && apt-get install -y -qq "$2" >/dev/null; }
}

# Runs `$1 SUITE` for every further argument, two at a time (download and
# unpack overlap well on two cores); returns non-zero if any run failed.
two_at_a_time() {
  local fn=$1 pids=() failed=0 i=0 s p
  shift
  for s in "$@"; do
    "$fn" "$s" &
    pids+=($!)
    i=$((i + 1))
    if [ $((i % 2)) -eq 0 ]; then
      for p in "${pids[@]}"; do wait "$p" || failed=1; done
      pids=()
    fi
  done
  for p in "${pids[@]}"; do wait "$p" || failed=1; done
  return $failed
}
