#!/usr/bin/env bash
# Fan-out benchmark: one editor typing, N followers (full Yjs clients: yjs + the y-websocket
# provider, or the Hocuspocus provider for Hocuspocus), followers spread over FOLLOWER_PROCS
# processes, against four peers started fresh for every run, in turn (A B C D A B C D …):
#   floor       a relay that stores nothing and does no Yjs work (what the clients + machine cost)
#   databook    Databook itself, persistence on (every update in SQLite before it is broadcast)
#   ywebsocket  @y/websocket-server, no persistence
#   hocuspocus  @hocuspocus/server, default configuration, no persistence
# and, for several nodes (issue 16), Databook on PostgreSQL + Redis (peers/databook-cluster.ts):
#   databook-1  one node alone (PostgreSQL, fsync on, and Redis, but nothing crosses it)
#   databook-3  three nodes on one port (SO_REUSEPORT): the followers spread over them, and those
#               not on the editor's node get each edit through Redis
#   PEERS="ywebsocket databook-1 databook-3" HARNESS=/tmp/harness bash run.sh
# The client side is a y-websocket fan-out harness (bench.mjs: 1 editor + N followers, latency
# from the editor's send to each follower's observe, CPU of a given server pid), passed as HARNESS:
# a writable folder holding bench.mjs with its npm dependencies installed.
#
#   cd bench/fanout && npm install          # the reference peers, installed here only
#   HARNESS=/tmp/harness NS="100 500" REPS=3 bash run.sh
#
# Env: NS REPS EDITS RATE FOLLOWER_PROCS TIMEOUT PEERS OUT QUIET_GATE_S. Every wait is bounded.
# Wrap it in `flock /tmp/databook-heavy.lock` on a shared machine.
set -euo pipefail
cd "$(dirname "$0")"
source ../../scripts/node24.sh
HARNESS="${HARNESS:?set HARNESS to a writable copy of the fan-out harness (bench.mjs + node_modules)}"
NS=${NS:-"100 500"}
REPS=${REPS:-3}
EDITS=${EDITS:-200}
RATE=${RATE:-20}
FOLLOWER_PROCS=${FOLLOWER_PROCS:-2}
TIMEOUT=${TIMEOUT:-30}
QUIET_GATE_S=${QUIET_GATE_S:-20}
PEERS=(${PEERS:-floor databook ywebsocket hocuspocus})
OUT=${OUT:-../results/fanout-$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$OUT"
RUNS="$OUT/runs.jsonl"
: > "$RUNS"

PEER_PID=""
stop_peer() {
  [ -n "$PEER_PID" ] || return 0
  kill -TERM "$PEER_PID" 2>/dev/null || true
  for _ in $(seq 1 60); do kill -0 "$PEER_PID" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$PEER_PID" 2>/dev/null || true
  wait "$PEER_PID" 2>/dev/null || true
  PEER_PID=""
}
trap stop_peer EXIT INT TERM

machine_busy() { # % of all cores busy over ~1 s
  local a b idle tot=0 k
  a=($(head -1 /proc/stat)); sleep 1; b=($(head -1 /proc/stat))
  idle=$(( (b[4]+b[5]) - (a[4]+a[5]) ))
  for k in 1 2 3 4 5 6 7 8; do tot=$(( tot + b[k] - a[k] )); done
  echo $(( tot > 0 ? 100 - 100*idle/tot : 0 ))
}
quiet_gate() { local i busy=100; for i in $(seq 1 "$QUIET_GATE_S"); do busy=$(machine_busy); [ "$busy" -lt 40 ] && break; done; echo "$busy"; }

run_one() { # peer n rep
  local peer=$1 n=$2 rep=$3 tag="$1-n$2-r$3" info port pid url proto=y-websocket extra=() busy
  case "$peer" in
    databook) node peers/databook.ts > "$OUT/$tag.peer.out" 2> "$OUT/$tag.peer.err" & ;;
    databook-[0-9]) node peers/databook-cluster.ts --nodes "${peer#databook-}" > "$OUT/$tag.peer.out" 2> "$OUT/$tag.peer.err" & ;;
    *) node "peers/$peer.mjs" > "$OUT/$tag.peer.out" 2> "$OUT/$tag.peer.err" & ;;
  esac
  PEER_PID=$!
  # a cluster peer starts PostgreSQL and Redis first: give it a minute
  for _ in $(seq 1 600); do [ -s "$OUT/$tag.peer.out" ] && break; sleep 0.1; done
  info=$(head -1 "$OUT/$tag.peer.out" || true)
  if [ -z "$info" ]; then echo "peer $peer did not start (see $OUT/$tag.peer.err)" >&2; stop_peer; return 1; fi
  port=$(node -p 'JSON.parse(process.argv[1]).port' "$info")
  pid=$(node -p 'JSON.parse(process.argv[1]).pid' "$info")
  url="ws://127.0.0.1:$port/{room}"
  if [[ "$peer" == databook* ]]; then
    # signed in, as a browser: the session cookie and the page's Origin on the upgrade
    url="ws://127.0.0.1:$port/ws/notebooks/{room}?v=2"
    extra=("--room=$(node -p 'JSON.parse(process.argv[1]).room' "$info")"
      "--header=Cookie: $(node -p 'JSON.parse(process.argv[1]).cookie' "$info")"
      "--header=Origin: $(node -p 'JSON.parse(process.argv[1]).origin' "$info")")
  fi
  [ "$peer" = hocuspocus ] && proto=hocuspocus
  busy=$(quiet_gate)
  echo "== $tag (machine busy before: ${busy}%)" >&2
  local cap=$(( TIMEOUT * 2 + EDITS / RATE + 60 ))
  timeout "$cap" node "$HARNESS/bench.mjs" --url "$url" "${extra[@]}" --protocol "$proto" \
    --followers "$n" --edits "$EDITS" --rate "$RATE" --timeout "$TIMEOUT" \
    --follower-procs "$FOLLOWER_PROCS" --server-pid "$pid" --label "$tag" --quiet \
    > "$OUT/$tag.json" 2> "$OUT/$tag.bench.err" || echo "   bench exited non-zero (see $OUT/$tag.bench.err)" >&2
  stop_peer
  # a cluster peer says how the kernel spread the sockets over its nodes
  local spread
  spread=$(sed -n 's/^sockets per node: //p' "$OUT/$tag.peer.err" | tail -1)
  [ -n "$spread" ] && echo "   sockets per node: $spread" >&2
  if [ -s "$OUT/$tag.json" ]; then
    node -e 'const r = JSON.parse(process.argv[1]); r.peer = process.argv[2]; r.machine_busy_before_pct = Number(process.argv[3]);
      if (process.argv[4]) r.sockets_per_node = process.argv[4].split(",").map(Number); console.log(JSON.stringify(r))' \
      "$(tail -1 "$OUT/$tag.json")" "$peer" "$busy" "$spread" >> "$RUNS"
    node -e 'const r = JSON.parse(process.argv[1]); const l = r.latency_ms || {};
      console.error(`   synced ${r.connected?.followers_synced}/${r.followers}  p50 ${l.p50}  p99 ${l.p99} ms  lost ${r.lost}  server ${r.cpu?.server_pct}%  others ${r.cpu?.others_pct}%` + (r.error ? `  ERROR ${r.error}` : ""))' "$(tail -1 "$OUT/$tag.json")"
  fi
}

echo "fan-out: NS=($NS) REPS=$REPS EDITS=$EDITS RATE=$RATE FOLLOWER_PROCS=$FOLLOWER_PROCS peers=(${PEERS[*]}) -> $OUT" >&2
for n in $NS; do
  for rep in $(seq 1 "$REPS"); do
    for peer in "${PEERS[@]}"; do run_one "$peer" "$n" "$rep" || true; done
  done
done
node summarize.mjs "$RUNS" | tee "$OUT/summary.md"
