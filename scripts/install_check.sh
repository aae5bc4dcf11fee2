#!/usr/bin/env bash
# Installs @jsec/tls the ways users do (the JSR file set over HTTP for Deno, the npm tarball for Bun) and
# uses it; see scripts/install_check.ts. Ends with "install: N passed, N failed".
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
bash scripts/setup.sh
exec node_modules/.bin/deno run -A scripts/install_check.ts
