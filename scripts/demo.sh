#!/usr/bin/env bash
# Runs the demo under Deno and under Bun, installing what it needs first.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
bash scripts/setup.sh
node_modules/.bin/deno run -A demo/main.ts
echo
node_modules/.bin/bun demo/main.ts
