# Sourced by scripts/dev.sh and scripts/test.sh. Sets PY to a Python that may pip-install:
# the active one (a venv, pyenv, a container's), or ./.venv when the system Python is
# externally managed (PEP 668, as Debian's is) and no venv is active.
PY=python3
if "$PY" - <<'PYEOF'
import os, sys, sysconfig
marker = os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED")
sys.exit(0 if os.path.exists(marker) and sys.prefix == sys.base_prefix else 1)
PYEOF
then
  if [ ! -x .venv/bin/python ]; then
    if ! python3 -m venv .venv 2>/dev/null; then
      rm -rf .venv
      SUDO=$([ "$(id -u)" = 0 ] && echo "" || echo sudo)
      $SUDO apt-get update -qq
      DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq python3-venv >/dev/null
      python3 -m venv .venv
    fi
  fi
  PY=.venv/bin/python
fi
