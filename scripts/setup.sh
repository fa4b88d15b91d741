# Sourced by start.sh and test.sh: Node 24 on PATH, npm dependencies installed from the lockfile
# (re-installed when package-lock.json changes), then `turbo run build` (plugins' plugin.wasm,
# test fixture components, generated protobuf code, the web app's static build).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/node24.sh
lock_hash="$(sha256sum package-lock.json | cut -c1-16)-$(node -p process.versions.modules)"
if [ ! -f node_modules/.databook-installed ] || [ "$(cat node_modules/.databook-installed)" != "$lock_hash" ]; then
  echo "databook: installing npm dependencies (npm ci) under Node $(node --version)" >&2
  npm ci --no-audit --no-fund --loglevel=error
  echo "$lock_hash" > node_modules/.databook-installed
fi
echo "databook: building (turbo run build)" >&2
npx turbo run build --output-logs=errors-only
