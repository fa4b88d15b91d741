#!/usr/bin/env bash
# `npm start`: installs what is needed, builds, and starts Databook with the bundled plugins on
# http://127.0.0.1:8080, gRPC on 50051 (DATABOOK_PORT / DATABOOK_GRPC_PORT / DATABOOK_HOST /
# DATABOOK_DATA to change). When Prometheus
# is available (installed from Debian when run as root) it also starts a local Prometheus that
# scrapes Databook's own /metrics and points the prometheus plugin at it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-system-packages.sh --optional prometheus:prometheus
source scripts/setup.sh
port="${DATABOOK_PORT:-8080}"
grpc_port="${DATABOOK_GRPC_PORT:-50051}"
host="${DATABOOK_HOST:-127.0.0.1}"
data="${DATABOOK_DATA:-$PWD/data}"
mkdir -p "$data"
if [ -z "${PROMETHEUS_URL:-}" ] && command -v prometheus >/dev/null 2>&1; then
  source scripts/start-prometheus.sh "$host:$port" "$data/prometheus"
fi
# glibc keeps freed memory at the top of the main heap up to 128 KiB by default, and start-up
# (loading and compiling plugins) frees tens of MB there: trimming from 64 KiB returns ~20 MB of
# idle RSS (docs/plugin-host.md, "Memory at rest")
export MALLOC_TRIM_THRESHOLD_="${MALLOC_TRIM_THRESHOLD_:-65536}"
exec node apps/server/bin/databook.js serve --host "$host" --port "$port" --grpc-port "$grpc_port" --data "$data" --plugins plugins
