#!/usr/bin/env bash
# `npm test` (and CI's .ci/run): installs what the tests need (Node 24, npm deps, Debian's
# Prometheus, Alertmanager, Chromium, PostgreSQL and Redis when run as root), builds everything from source, then runs
# lint, type checks, every workspace's unit/integration tests and the Playwright end-to-end tests.
# Ends with one line "databook: N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-system-packages.sh \
  prometheus:prometheus prometheus-alertmanager:prometheus-alertmanager chromium:chromium \
  postgresql:/usr/lib/postgresql/15/bin/initdb redis-server:redis-server || exit 1
source scripts/setup.sh || { echo "databook: set-up or build failed (see above)" >&2; exit 1; }
set +e

passed=0 failed=0 broken=()
log_dir="$(mktemp -d)"
started=$SECONDS

stage() { # stage NAME COMMAND...: runs a check that is not a test runner (counts as one test)
  local name="$1"; shift
  echo "── $name" >&2
  if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); broken+=("$name"); fi
}

count() { # count NAME LOGFILE STATUS: adds a test runner's own pass/fail counts
  local name="$1" log="$2" status="$3" p f
  p=$(grep -aoE '^(ℹ|#) pass [0-9]+' "$log" | awk '{s+=$3} END {print s+0}')
  f=$(grep -aoE '^(ℹ|#) fail [0-9]+' "$log" | awk '{s+=$3} END {print s+0}')
  if [ "$p" = 0 ] && [ "$f" = 0 ]; then # Playwright's list reporter
    p=$(grep -aoE '^ +[0-9]+ passed' "$log" | awk '{s+=$1} END {print s+0}')
    f=$(grep -aoE '^ +[0-9]+ (failed|flaky)' "$log" | awk '{s+=$1} END {print s+0}')
  fi
  passed=$((passed + p)); failed=$((failed + f))
  if [ "$status" != 0 ] || [ "$f" != 0 ]; then
    broken+=("$name")
    [ "$f" = 0 ] && failed=$((failed + 1)) # the runner itself failed (crash, no tests found)
  elif [ "$p" = 0 ]; then
    broken+=("$name (ran no test)"); failed=$((failed + 1))
  fi
}

stage "lint (biome)" npx biome ci --reporter=summary .
for ws in $(node -e 'for (const w of require("./package.json").workspaces) for (const d of require("node:fs").globSync(w)) console.log(d)'); do
  [ -f "$ws/tsconfig.json" ] && stage "typecheck $ws" npx tsc -p "$ws" --noEmit
done
[ -f apps/web/package.json ] && grep -q '"check"' apps/web/package.json && stage "svelte-check apps/web" npm run -s check -w apps/web

for ws in $(node -e 'for (const w of require("./package.json").workspaces) for (const d of require("node:fs").globSync(w)) console.log(d)'); do
  node -e 'process.exit(require("./'"$ws"'/package.json").scripts?.test ? 0 : 1)' || continue
  echo "── tests $ws" >&2
  log="$log_dir/$(echo "$ws" | tr / _).log"
  (cd "$ws" && npm run -s test) 2>&1 | tee "$log"
  count "tests $ws" "$log" "${PIPESTATUS[0]}"
done

if [ -f playwright.config.ts ]; then
  echo "── end-to-end (Playwright, Debian Chromium)" >&2
  npx playwright test --reporter=list 2>&1 | tee "$log_dir/e2e.log"
  count "e2e" "$log_dir/e2e.log" "${PIPESTATUS[0]}"
fi

echo "databook: test run took $(( SECONDS - started ))s; logs in $log_dir" >&2
[ ${#broken[@]} -gt 0 ] && printf 'databook: failing: %s\n' "${broken[@]}" >&2
echo "databook: $passed passed, $failed failed"
[ "$failed" = 0 ]
