# Sourced by the test scripts: counts from a test runner's log.
# Deno ends with "ok | 12 passed | 0 failed"; Bun with " 12 pass" / " 0 fail".
# runner_counts deno|bun LOG EXIT_CODE prints "PASSED FAILED"; a runner that
# exited non-zero before counting a failure counts one.
runner_counts() {
  local runner=$1 log=$2 rc=$3 pass fail text
  text=$(sed 's/\x1b\[[0-9;]*m//g' "$log")
  if [ "$runner" = deno ]; then
    pass=$(grep -oE '[0-9]+ passed' <<<"$text" | tail -1 | grep -oE '[0-9]+' || echo 0)
    fail=$(grep -oE '[0-9]+ failed' <<<"$text" | tail -1 | grep -oE '[0-9]+' || echo 0)
  else
    pass=$(grep -E '^ *[0-9]+ pass$' <<<"$text" | tail -1 | grep -oE '[0-9]+' || echo 0)
    fail=$(grep -E '^ *[0-9]+ fail$' <<<"$text" | tail -1 | grep -oE '[0-9]+' || echo 0)
  fi
  [ "$rc" -ne 0 ] && [ "$fail" -eq 0 ] && fail=1
  echo "$pass $fail"
}
