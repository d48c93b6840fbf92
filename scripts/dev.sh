#!/usr/bin/env bash
# The quickstart: install inloop and run everything on an embedded Valkey (`inloop dev`).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/python.sh
"$PY" -m pip install -q --disable-pip-version-check -e .
exec "$PY" -m api.cli dev "$@"
