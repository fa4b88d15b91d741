# Sourced by start.sh and test.sh: Node 24 on PATH, npm dependencies installed from the lockfile
# (re-installed when package-lock.json changes), then `turbo run build` (plugins' plugin.wasm,
# test fixture components, generated protobuf code, the web app's static build). Leaves the
# seconds each took in DATABOOK_INSTALL_SECONDS (0 when nothing was installed) and
# DATABOOK_BUILD_SECONDS, for test.sh's stage table.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/node24.sh
DATABOOK_INSTALL_SECONDS=0
_t=$SECONDS
lock_hash="$(sha256sum package-lock.json | cut -c1-16)-$(node -p process.versions.modules)"
if [ ! -f node_modules/.databook-installed ] || [ "$(cat node_modules/.databook-installed)" != "$lock_hash" ]; then
  echo "databook: installing npm dependencies (npm ci) under Node $(node --version)" >&2
  npm ci --no-audit --no-fund --loglevel=error
  echo "$lock_hash" > node_modules/.databook-installed
  DATABOOK_INSTALL_SECONDS=$((SECONDS - _t))
fi
echo "databook: building (turbo run build)" >&2
_t=$SECONDS
npx turbo run build --output-logs=errors-only
DATABOOK_BUILD_SECONDS=$((SECONDS - _t))
unset _t
