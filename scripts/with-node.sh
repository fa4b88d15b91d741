#!/usr/bin/env bash
# Runs a command with Node 24 first on PATH (fetched once by scripts/node24.sh).
set -euo pipefail
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/node24.sh"
exec "$@"
