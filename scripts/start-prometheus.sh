# Starts Debian's Prometheus (/usr/bin/prometheus) on 127.0.0.1 with a free port, scraping
# Databook's own /metrics, and exports PROMETHEUS_URL so the prometheus plugin queries it.
#
#   source scripts/start-prometheus.sh HOST:PORT [DIR]   # from start.sh: runs in the background,
#                                                        # stopped when the sourcing shell's process
#                                                        # (after `exec`, Databook itself) ends
#   bash scripts/start-prometheus.sh HOST:PORT [DIR]     # in the foreground, until Ctrl-C
#
# HOST:PORT is where Databook listens (its /metrics is scraped every 5 s). DIR holds the config and
# the TSDB (default: a fresh temp dir). Installs nothing: without Prometheus it says so and returns 1.
_dbp_target="${1:?usage: start-prometheus.sh HOST:PORT [DIR]}"
_dbp_dir="${2:-$(mktemp -d -t databook-prometheus.XXXXXX)}"
_dbp_bin="${PROMETHEUS_BIN:-$(command -v prometheus || echo /usr/bin/prometheus)}"
if [ ! -x "$_dbp_bin" ]; then
  echo "databook: Prometheus is not installed (apt-get install -y prometheus, as root); the prometheus plugin needs PROMETHEUS_URL" >&2
  return 1 2>/dev/null || exit 1
fi
mkdir -p "$_dbp_dir/data"
_dbp_port="$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')"
cat > "$_dbp_dir/prometheus.yml" <<YAML
# written by scripts/start-prometheus.sh
global:
  scrape_interval: 5s
scrape_configs:
  - job_name: databook
    metrics_path: /metrics
    static_configs:
      - targets: ["$_dbp_target"]
  - job_name: prometheus
    static_configs:
      - targets: ["127.0.0.1:$_dbp_port"]
YAML
_dbp_args=(--config.file="$_dbp_dir/prometheus.yml" --storage.tsdb.path="$_dbp_dir/data"
  --web.listen-address="127.0.0.1:$_dbp_port" --storage.tsdb.retention.time=7d)
export PROMETHEUS_URL="http://127.0.0.1:$_dbp_port"

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  echo "databook: Prometheus at $PROMETHEUS_URL scraping http://$_dbp_target/metrics (data in $_dbp_dir)" >&2
  exec "$_dbp_bin" "${_dbp_args[@]}"
fi

"$_dbp_bin" "${_dbp_args[@]}" > "$_dbp_dir/prometheus.log" 2>&1 &
_dbp_pid=$!
# Stop Prometheus when the process that sourced us ends (start.sh `exec`s Databook, keeping its pid).
( _owner=$$; while kill -0 "$_owner" 2>/dev/null && kill -0 "$_dbp_pid" 2>/dev/null; do sleep 2; done; kill "$_dbp_pid" 2>/dev/null ) >/dev/null 2>&1 &
disown 2>/dev/null || true
for _ in $(seq 1 60); do
  curl -fsS "$PROMETHEUS_URL/-/ready" >/dev/null 2>&1 && break
  kill -0 "$_dbp_pid" 2>/dev/null || break
  sleep 0.5
done
if curl -fsS "$PROMETHEUS_URL/-/ready" >/dev/null 2>&1; then
  echo "databook: Prometheus at $PROMETHEUS_URL scraping http://$_dbp_target/metrics (log: $_dbp_dir/prometheus.log)" >&2
else
  echo "databook: Prometheus did not become ready; see $_dbp_dir/prometheus.log (continuing without it)" >&2
  kill "$_dbp_pid" 2>/dev/null || true
  unset PROMETHEUS_URL
fi
unset _dbp_target _dbp_dir _dbp_bin _dbp_port _dbp_args _dbp_pid
