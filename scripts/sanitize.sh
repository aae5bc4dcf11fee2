#!/usr/bin/env bash
# Builds the shim with AddressSanitizer and UBSan (gcc's libasan/libubsan) and
# runs the engine and shim tests plus the fuzz smoke on it under Deno, with
# libasan preloaded (the runtime itself is not instrumented). Any report fails
# the run. Ends with one line: "sanitize: N passed, N failed".
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
bash scripts/setup.sh || exit 1
# libasan and libubsan come with gcc (setup installs it when cc is missing).
asan=$(cc -print-file-name=libasan.so)
if [ ! -e "$asan" ]; then
  echo "sanitize: installing gcc for libasan" >&2
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq gcc >/dev/null
  asan=$(cc -print-file-name=libasan.so)
fi
asan=$(readlink -f "$asan")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cc -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all \
  -fPIC -shared -Wall -Wextra -o "$work/libjsec-sanitized.so" c-shim/*.c -lssl -lcrypto || {
  echo "sanitize: 0 passed, 1 failed"
  exit 1
}

tests=(test/engine.test.ts test/engine_peer.test.ts test/shim.test.ts test/error_queue.test.ts test/fuzz.test.ts test/alerts.test.ts
  test/forged_records.test.ts test/dtls_engine.test.ts test/dtls.test.ts test/dtls_cookie.test.ts test/psk.test.ts
  test/key_log.test.ts test/async_sni.test.ts test/secure_context.test.ts test/key_uri.test.ts test/ech.test.ts
  test/resumption.test.ts test/idle_wake.test.ts)
# Leak checking is off: the runtime's own allocations at exit are not ours to judge.
JSEC_SHIM="$work/libjsec-sanitized.so" LD_PRELOAD="$asan" \
  ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:log_path=$work/asan" \
  UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$work/ubsan" \
  node_modules/.bin/deno test -A --unstable-net "${tests[@]}" 2>&1 | tee "$work/log"
rc=${PIPESTATUS[0]}

source scripts/runner_counts.sh
read -r passed failed < <(runner_counts deno "$work/log" 0)
# A sanitizer report is a failure, even in a child process that did not fail its test.
reports=$(cat "$work"/asan.* "$work"/ubsan.* 2>/dev/null | grep -cE 'ERROR: AddressSanitizer|runtime error:' || true)
if [ "$reports" -gt 0 ]; then
  cat "$work"/asan.* "$work"/ubsan.* 2>/dev/null | head -80
  failed=$((failed + reports))
fi
[ "$rc" -ne 0 ] && [ "$failed" -eq 0 ] && failed=1
echo "sanitize: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
