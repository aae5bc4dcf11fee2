#!/usr/bin/env bash
# Runs the test suite under Deno and under Bun (installing what it needs
# first) and ends with one line: "N passed, N failed" over both runtimes.
# Arguments are passed to both runners (e.g. a test file or folder).
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
bash scripts/setup.sh || exit 1
bin=node_modules/.bin
targets=("${@:-test/}")
log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT

echo "== deno test"
"$bin/deno" test -A --unstable-net --v8-flags=--expose-gc "${targets[@]}" 2>&1 | tee "$log/deno"
deno_rc=${PIPESTATUS[0]}
echo "== bun test"
"$bin/bun" test "${targets[@]}" 2>&1 | tee "$log/bun"
bun_rc=${PIPESTATUS[0]}

# Deno ends with "ok | 12 passed | 0 failed"; Bun with " 12 pass" / " 0 fail".
strip() { sed 's/\x1b\[[0-9;]*m//g' "$1"; }
deno_pass=$(strip "$log/deno" | grep -oE '[0-9]+ passed' | tail -1 | grep -oE '[0-9]+' || echo 0)
deno_fail=$(strip "$log/deno" | grep -oE '[0-9]+ failed' | tail -1 | grep -oE '[0-9]+' || echo 0)
bun_pass=$(strip "$log/bun" | grep -E '^ *[0-9]+ pass$' | tail -1 | grep -oE '[0-9]+' || echo 0)
bun_fail=$(strip "$log/bun" | grep -E '^ *[0-9]+ fail$' | tail -1 | grep -oE '[0-9]+' || echo 0)
# A runner that crashed before its summary counts as one failure.
[ "$deno_rc" -ne 0 ] && [ "$deno_fail" -eq 0 ] && deno_fail=1
[ "$bun_rc" -ne 0 ] && [ "$bun_fail" -eq 0 ] && bun_fail=1
echo "deno: $deno_pass passed, $deno_fail failed; bun: $bun_pass passed, $bun_fail failed"
echo "$((deno_pass + bun_pass)) passed, $((deno_fail + bun_fail)) failed"
[ "$deno_rc" -eq 0 ] && [ "$bun_rc" -eq 0 ]
