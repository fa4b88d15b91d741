#!/usr/bin/env bash
# Makes sure Debian packages the tests (or the app) need are installed.
#   scripts/ensure-system-packages.sh [--optional] PACKAGE:BINARY ...
# Installs the missing ones with apt-get when run as root; otherwise fails with a message that
# says what to install (or, with --optional, warns and carries on).
set -euo pipefail
optional=0
if [ "${1:-}" = "--optional" ]; then optional=1; shift; fi
missing=()
for spec in "$@"; do
  pkg="${spec%%:*}"; bin="${spec#*:}"
  command -v "$bin" >/dev/null 2>&1 || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "databook: installing Debian packages: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  if ! { apt-get update -qq && apt-get install -y -qq "${missing[@]}"; } >/tmp/databook-apt.log 2>&1; then
    echo "databook: apt-get install ${missing[*]} failed; see /tmp/databook-apt.log" >&2
    tail -5 /tmp/databook-apt.log >&2
    [ $optional = 1 ] && exit 0 || exit 1
  fi
  exit 0
fi
msg="databook: missing Debian packages: ${missing[*]}. Install them with: sudo apt-get install -y ${missing[*]} (or run this command as root)"
if [ $optional = 1 ]; then echo "$msg — continuing without them" >&2; exit 0; fi
echo "$msg" >&2
exit 1
