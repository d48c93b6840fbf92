#!/usr/bin/env bash
# Install everything the tests need (Python packages, Debian's chromium) and run them all:
# lint, types, then pytest against real Valkey, nats-server, SMTP, HTTP and chromium.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v chromium >/dev/null 2>&1; then
  SUDO=$([ "$(id -u)" = 0 ] && echo "" || echo sudo)
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi
. scripts/python.sh
"$PY" -m pip install -q --disable-pip-version-check -e '.[test]'
# The client is its own distribution (client/pyproject.toml); its tests run against the server.
"$PY" -m pip install -q --disable-pip-version-check -e './client[mcp]'

"$PY" -m ruff check api bot renderers workers tests bench client
"$PY" -m mypy
"$PY" -m pytest -q -p no:cacheprovider "$@"
