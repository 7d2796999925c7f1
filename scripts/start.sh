#!/usr/bin/env bash
# Install everything, migrate, deploy the diagrams, load demo data, and serve http://127.0.0.1:5000
# (SQLite by default; set DATABASE_URL for PostgreSQL).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source scripts/setup.sh requirements.txt
flask --app wsgi seed-demo
exec flask --app wsgi run --host "${HOST:-127.0.0.1}" --port "${PORT:-5000}"
