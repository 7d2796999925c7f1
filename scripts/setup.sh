#!/usr/bin/env bash
# Shared set-up: a virtualenv in .venv with the pinned packages, and compiled translations.
# Usage: source scripts/setup.sh [requirements-file]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REQS="${1:-requirements.txt}"
PY="${PYTHON:-python3}"
if [ ! -x "$ROOT/.venv/bin/python" ]; then
  "$PY" -m venv "$ROOT/.venv"
fi
STAMP="$ROOT/.venv/.installed-$(cat "$ROOT/requirements.txt" "$ROOT/$REQS" | sha256sum | cut -c1-16)"
if [ ! -f "$STAMP" ]; then
  "$ROOT/.venv/bin/pip" install --quiet --disable-pip-version-check -r "$ROOT/$REQS"
  touch "$STAMP"
fi
# Browser libraries (bpmn-js, dmn-js, ECharts) and the studio's lint rules (bpmnlint, run with node) from npm,
# exactly as package-lock.json pins them
if [ -f "$ROOT/package-lock.json" ]; then
  if ! command -v npm >/dev/null 2>&1; then
    echo "installing Debian packages: nodejs npm"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
  fi
  NPM_STAMP="$ROOT/node_modules/.installed-$(sha256sum "$ROOT/package-lock.json" | cut -c1-16)"
  if [ ! -f "$NPM_STAMP" ]; then
    (cd "$ROOT" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
    touch "$NPM_STAMP"
  fi
fi
if [ -d "$ROOT/app/translations" ]; then
  "$ROOT/.venv/bin/pybabel" compile -d "$ROOT/app/translations" >/dev/null
fi
export PATH="$ROOT/.venv/bin:$PATH"
