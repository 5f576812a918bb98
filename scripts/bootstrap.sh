#!/usr/bin/env bash
# Install what Grondslag needs on a fresh Debian/Ubuntu machine (idempotent):
#   - Debian packages: PostgreSQL server + PostGIS, GDAL command-line tools (ogrinfo), wrk
#   - a Python virtual environment in .venv with Grondslag and its dependencies
# Uses sudo for apt when not run as root.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
APT_PACKAGES=(postgresql postgresql-contrib gdal-bin wrk chromium)

need_apt=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need_apt+=("$pkg")
done
# PostGIS must match the PostgreSQL server major version
pgmajor=$(ls /usr/lib/postgresql 2>/dev/null | sort -n | tail -1 || true)
if [ -n "$pgmajor" ] && ! ls /usr/share/postgresql/"$pgmajor"/extension/postgis.control >/dev/null 2>&1; then
  need_apt+=("postgresql-${pgmajor}-postgis-3")
fi
if ! "$PYTHON" -c 'import venv, ensurepip' >/dev/null 2>&1; then
  need_apt+=(python3-venv)
fi
if [ ${#need_apt[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "==> apt-get install ${need_apt[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
  pgmajor=$(ls /usr/lib/postgresql | sort -n | tail -1)
  if ! ls /usr/share/postgresql/"$pgmajor"/extension/postgis.control >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
      "postgresql-${pgmajor}-postgis-3" >/dev/null
  fi
fi

if [ ! -x .venv/bin/python ]; then
  echo "==> creating .venv"
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.grondslag-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "==> installing Python dependencies into .venv"
  .venv/bin/python -m pip install -q --upgrade pip >/dev/null
  .venv/bin/python -m pip install -q -e ".[dev]"
  touch "$stamp"
fi
echo "==> ready: .venv/bin/grondslag"
