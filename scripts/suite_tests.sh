#!/usr/bin/env bash
# Runs the test files whose features depend on the libssl version (ECH, key
# URIs, PSK, key export, async SNI, shared contexts) under Deno and Bun inside
# each interop image, so the shim is built against and loads that suite's
# libssl (1.1.1 … 4.0). The host's test run covers only its own 3.0.
# Needs the images `interop/main.ts` builds (run the interop step first).
# Ends with one line: "N passed, N failed" over every suite and runtime.
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
source scripts/runner_counts.sh
image=${JSEC_INTEROP_IMAGE:-jsec-interop}
suites=(bullseye bookworm trixie sid experimental)
files=(test/ech.test.ts test/key_uri.test.ts test/psk.test.ts test/export_keying.test.ts
  test/async_sni.test.ts test/secure_context.test.ts)
log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT
passed=0 failed=0

for suite in "${suites[@]}"; do
  for runner in deno bun; do
    if [ "$runner" = deno ]; then cmd=(deno test -A --unstable-net "${files[@]}"); else cmd=(bun test "${files[@]}"); fi
    echo "== $suite: $runner"
    # The container's own cache: the shim is built there, against the suite's headers.
    timeout 600 docker run --rm --init --network host -v "$root:$root" -w "$root" \
      -e XDG_CACHE_HOME=/tmp/cache -e JSEC_SHIM= -e JSEC_OPENSSL_PREFIX= \
      "$image:$suite" "${cmd[@]}" >"$log/run" 2>&1
    rc=$?
    tail -n 4 "$log/run"
    read -r p f < <(runner_counts "$runner" "$log/run" "$rc")
    [ "$f" -ne 0 ] && sed 's/\x1b\[[0-9;]*m//g' "$log/run" | grep -E "FAILED|\(fail\)|error:" | head -20
    passed=$((passed + p))
    failed=$((failed + f))
  done
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
