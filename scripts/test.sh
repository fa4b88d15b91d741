#!/usr/bin/env bash
# `npm test` (and CI's .ci/run): installs what the tests need (Node 24, npm deps, Debian's
# Prometheus, Alertmanager, Chromium, PostgreSQL and Redis when run as root), builds everything from source, then runs
# lint, type checks, every workspace's unit/integration tests and the Playwright end-to-end tests.
# Prints each stage's time as it ends ("── NAME: Ns"), then a table of stage → seconds and the
# slowest test files (node:test and Playwright). Ends with one line "databook: N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
stage_names=() stage_secs=()
timed() { # timed NAME SECONDS: records a stage's time for the summary table and prints it
  stage_names+=("$1"); stage_secs+=("$2")
  echo "── $1: ${2}s" >&2
}
t=$SECONDS
bash scripts/ensure-system-packages.sh \
  prometheus:prometheus prometheus-alertmanager:prometheus-alertmanager chromium:chromium \
  postgresql:/usr/lib/postgresql/15/bin/initdb redis-server:redis-server || exit 1
timed "system packages" $((SECONDS - t))
# setup.sh sets DATABOOK_INSTALL_SECONDS and DATABOOK_BUILD_SECONDS.
source scripts/setup.sh || { echo "databook: set-up or build failed (see above)" >&2; exit 1; }
set +e
timed "npm ci" "$DATABOOK_INSTALL_SECONDS"
timed "build (turbo)" "$DATABOOK_BUILD_SECONDS"

passed=0 failed=0 broken=()
log_dir="$(mktemp -d)"
started=$SECONDS
file_times="$log_dir/file-times.tsv" # "<seconds>\t<file>" per test file, from every runner

stage() { # stage NAME COMMAND...: runs a check that is not a test runner (counts as one test)
  local name="$1" t=$SECONDS; shift
  echo "── $name" >&2
  if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); broken+=("$name"); fi
  timed "$name" $((SECONDS - t))
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

check_names=() check_cmds=()
queue_check() { check_names+=("$1"); check_cmds+=("$2"); } # queue_check NAME "COMMAND LINE"

run_checks() { # runs the queued checks two at a time (each uses one core), then reports them in order
  local i t=$SECONDS rc secs running=0
  for i in "${!check_names[@]}"; do
    if [ "$running" -ge 2 ]; then wait -n; running=$((running - 1)); fi
    (
      t=$SECONDS
      eval "${check_cmds[$i]}" >"$log_dir/check-$i.log" 2>&1
      echo "$? $((SECONDS - t))" >"$log_dir/check-$i.status"
    ) &
    running=$((running + 1))
  done
  wait
  for i in "${!check_names[@]}"; do # whole outputs, so two checks' lines never interleave
    echo "── ${check_names[$i]}" >&2
    cat "$log_dir/check-$i.log" >&2
    read -r rc secs <"$log_dir/check-$i.status" || { rc=1 secs=0; }
    if [ "$rc" = 0 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); broken+=("${check_names[$i]}"); fi
    timed "${check_names[$i]}" "$secs"
  done
  timed "type checks (wall time, 2 at a time)" $((SECONDS - t))
}

stage "lint (biome)" npx biome ci --reporter=summary .
# The apps' checks take longest: queued first, so the small ones fill the other slot around them.
[ -f apps/web/package.json ] && grep -q '"check"' apps/web/package.json &&
  queue_check "svelte-check apps/web" "npm run -s check -w apps/web"
for ws in $(node -e 'for (const w of require("./package.json").workspaces) for (const d of require("node:fs").globSync(w)) console.log(d)' | tac); do
  [ -f "$ws/tsconfig.json" ] && queue_check "typecheck $ws" "npx tsc -p $ws --noEmit"
done
run_checks

run_tests() { # run_tests NAME WORKSPACE [SCRIPT]: one workspace's `npm run SCRIPT` (default test), counted and timed
  local name="$1" ws="$2" script="${3:-test}" log t=$SECONDS reporters
  echo "── $name" >&2
  log="$log_dir/$(echo "$name" | tr -c 'a-zA-Z0-9\n' _).log"
  # The reporters go through NODE_OPTIONS so each workspace's own `node --test` arguments stay as
  # they are; a test that starts a fresh `node --test` must drop NODE_OPTIONS (new-plugin.test.ts).
  reporters="--test-reporter=spec --test-reporter-destination=stdout"
  reporters+=" --test-reporter=$PWD/scripts/test-file-times.mjs --test-reporter-destination=$log.times"
  (cd "$ws" && NODE_OPTIONS="${NODE_OPTIONS:-} $reporters" npm run -s "$script") 2>&1 | tee "$log"
  count "$name" "$log" "${PIPESTATUS[0]}"
  timed "$name" $((SECONDS - t))
  sed "s/\t/\t[$name] /" "$log.times" >>"$file_times" 2>/dev/null
}

for ws in $(node -e 'for (const w of require("./package.json").workspaces) for (const d of require("node:fs").globSync(w)) console.log(d)'); do
  node -e 'process.exit(require("./'"$ws"'/package.json").scripts?.test ? 0 : 1)' || continue
  run_tests "tests $ws" "$ws"
done
# The server suite once more with every app on PostgreSQL (issue 16: the whole suite passes with
# either storage): `test:postgres` runs the files whose apps start through the test storage
# (startApp, openTestStorage); the others never read DATABOOK_TEST_DATABASE (unit tests, the
# PostgreSQL and cluster tests, servers started as `databook serve` on a data folder) and would
# only run again as they just did. Tests that work on the SQLite file itself are skipped there,
# saying why.
run_tests "tests apps/server on PostgreSQL" apps/server test:postgres

if [ -f playwright.config.ts ]; then
  echo "── end-to-end (Playwright, Debian Chromium)" >&2
  t=$SECONDS
  npx playwright test --reporter=list 2>&1 | tee "$log_dir/e2e.log"
  count "e2e" "$log_dir/e2e.log" "${PIPESTATUS[0]}"
  timed "e2e (Playwright)" $((SECONDS - t))
  # "  ✓  12 e2e/file.test.ts:8:1 › title (3.5s)" → seconds per file
  sed 's/\x1b\[[0-9;]*m//g' "$log_dir/e2e.log" | awk '
    match($0, /e2e\/[^:]+\.test\.ts/) && match($0, /\(([0-9.]+)(ms|s|m)\)$/) {
      f = $0; sub(/^.*e2e\//, "e2e/", f); sub(/:.*/, "", f)
      d = substr($0, RSTART + 1, RLENGTH - 2); u = d; gsub(/[0-9.]/, "", u); v = d + 0
      secs[f] += u == "ms" ? v / 1000 : u == "m" ? v * 60 : v
    }
    END { for (f in secs) printf "%.1f\t%s (tests only)\n", secs[f], f }' >>"$file_times"
fi

echo "databook: stage times (seconds)" >&2
for i in "${!stage_names[@]}"; do printf '  %6s  %s\n' "${stage_secs[$i]}" "${stage_names[$i]}" >&2; done
printf '  %6s  %s\n' "$((SECONDS))" "total" >&2
if [ -s "$file_times" ]; then
  echo "databook: slowest test files (seconds)" >&2
  sort -rn "$file_times" | head -15 | sed "s|$PWD/||; s/^/  /" >&2
fi
echo "databook: test run took $(( SECONDS - started ))s; logs in $log_dir" >&2
[ ${#broken[@]} -gt 0 ] && printf 'databook: failing: %s\n' "${broken[@]}" >&2
echo "databook: $passed passed, $failed failed"
[ "$failed" = 0 ]
