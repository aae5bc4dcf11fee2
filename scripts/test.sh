#!/usr/bin/env bash
# Runs the test suite under Deno and under Bun (installing what it needs
# first) and ends with one line: "N passed, N failed" over both runtimes.
# Arguments are passed to both runners (e.g. a test file or folder).
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
bash scripts/setup.sh || exit 1
source scripts/runner_counts.sh
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

read -r deno_pass deno_fail < <(runner_counts deno "$log/deno" "$deno_rc")
read -r bun_pass bun_fail < <(runner_counts bun "$log/bun" "$bun_rc")
echo "deno: $deno_pass passed, $deno_fail failed; bun: $bun_pass passed, $bun_fail failed"
echo "$((deno_pass + bun_pass)) passed, $((deno_fail + bun_fail)) failed"
[ "$deno_rc" -eq 0 ] && [ "$bun_rc" -eq 0 ]
