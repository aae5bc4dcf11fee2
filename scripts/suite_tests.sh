#!/usr/bin/env bash
# Runs the test files whose features depend on the libssl version (ECH, key
# URIs, PSK, key export and log, ticket keys, async SNI, shared contexts, OCSP, the
# alerts for forged records, the DTLS cookie exchange) under Deno and Bun inside
# each interop image, so the shim is built against and loads that suite's
# libssl (1.1.1 … 4.0). The host's test run covers only its own 3.0.
# Needs the images `interop/main.ts` builds (run the interop step first) and an
# engine that answers: `deno run -A interop/with_engine.ts bash scripts/suite_tests.sh`
# starts one when none runs (the interop run stops the daemon it started).
# Ends with one line: "N passed, N failed" over every suite and runtime.
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
source scripts/runner_counts.sh
image=${JSEC_INTEROP_IMAGE:-jsec-interop}
suites=(bullseye bookworm trixie sid experimental)
files=(test/ech.test.ts test/key_uri.test.ts test/psk.test.ts test/export_keying.test.ts test/key_log.test.ts
  test/ticket_keys.test.ts test/async_sni.test.ts test/secure_context.test.ts test/ocsp.test.ts
  test/forged_records.test.ts test/dtls_cookie.test.ts)
log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT
passed=0 failed=0

# Without an engine or the images every file would fail alike: say why, once.
for suite in "${suites[@]}"; do
  if ! why=$(docker image inspect "$image:$suite" 2>&1 >/dev/null); then
    echo "suites: image $image:$suite is not there (${why:0:200}); run the interop step first"
    echo "0 passed, 1 failed"
    exit 1
  fi
done

# One process per file: a file that loads pkcs11-provider (key URIs) would change what
# later files in the same process see (on 4.0.3 it stops ECH keys from decoding).
for suite in "${suites[@]}"; do
  mkdir -p "$log/cache-$suite" # the shim is built once per suite, against its headers
  for runner in deno bun; do
    for file in "${files[@]}"; do
      if [ "$runner" = deno ]; then cmd=(deno test -A --unstable-net "$file"); else cmd=(bun test "$file"); fi
      timeout 300 docker run --rm --init --network host -v "$root:$root" -w "$root" \
        -v "$log/cache-$suite:/tmp/cache" -e XDG_CACHE_HOME=/tmp/cache -e JSEC_SHIM= -e JSEC_OPENSSL_PREFIX= \
        "$image:$suite" "${cmd[@]}" >"$log/run" 2>&1
      rc=$?
      read -r p f < <(runner_counts "$runner" "$log/run" "$rc")
      echo "$suite $runner $file: $p passed, $f failed"
      [ "$f" -ne 0 ] && sed 's/\x1b\[[0-9;]*m//g' "$log/run" | grep -E "FAILED|\(fail\)|error" | head -20
      passed=$((passed + p))
      failed=$((failed + f))
    done
  done
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
