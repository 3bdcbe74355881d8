#!/usr/bin/env bash
# `scripts/bench frontend`: front-end figures (a report, not a test): gzip size of the initial route and, in headless
# Chromium against a real `helpline serve`, the time to the first inbox render and to open a
# ticket. Database: HELPLINE_BENCH_DATABASE_URL, else `helpline_bench` on the local server when it
# exists (the 1M-ticket database; left as it was except for one agent `frontend-bench@example.com`
# made and given a password here), else (or with BENCH_FRESH=1) a fresh database seeded with
# BENCH_TICKETS (20000), dropped afterwards. Needs Node.js 20.19+ and Chromium (HELPLINE_CHROMIUM).
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=scripts/lib/venv.sh
source scripts/lib/venv.sh
ensure_venv
# shellcheck source=scripts/lib/frontend.sh
source scripts/lib/frontend.sh
node_ok || { echo "error: Node.js 20.19+ is needed" >&2; exit 1; }
frontend_build
ensure_chromium

server="postgresql://postgres@127.0.0.1:5432"
db_url="${HELPLINE_BENCH_DATABASE_URL:-}"
owned=0
if [ -z "$db_url" ] && [ "${BENCH_FRESH:-0}" != 1 ] && python - "$server/postgres" <<'PY'
import asyncio, sys, asyncpg
from helpline.seed.loader import connect_kwargs
async def main():
    conn = await asyncpg.connect(**connect_kwargs(sys.argv[1]))
    found = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = 'helpline_bench'")
    await conn.close()
    sys.exit(0 if found else 1)
asyncio.run(main())
PY
then
  db_url="$server/helpline_bench"
fi
tmp="$(mktemp -d)"
cleanup() {
  if [ -n "${pid:-}" ]; then
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  if [ "$owned" = 1 ]; then
    psql_drop="DROP DATABASE IF EXISTS \"${db_url##*/}\" WITH (FORCE)"
    python - "$server/postgres" "$psql_drop" <<'PY' || true
import asyncio, sys, asyncpg
from helpline.seed.loader import connect_kwargs
async def main():
    conn = await asyncpg.connect(**connect_kwargs(sys.argv[1]))
    await conn.execute(sys.argv[2])
    await conn.close()
asyncio.run(main())
PY
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
if [ -z "$db_url" ]; then
  name="helpline_bench_fe_$$"
  python - "$server/postgres" "CREATE DATABASE \"$name\"" <<'PY'
import asyncio, sys, asyncpg
from helpline.seed.loader import connect_kwargs
async def main():
    conn = await asyncpg.connect(**connect_kwargs(sys.argv[1]))
    await conn.execute(sys.argv[2])
    await conn.close()
asyncio.run(main())
PY
  db_url="$server/$name"
  owned=1
fi

export HELPLINE_ENV=test HELPLINE_DATABASE_URL="$db_url" \
  HELPLINE_REDIS_URL="${HELPLINE_BENCH_REDIS_URL:-redis://127.0.0.1:6379/0}" \
  HELPLINE_REDIS_KEY_PREFIX="helpline-bench-fe-$$" \
  HELPLINE_SECRET_KEY="bench-secret-key-$(python -c 'import secrets; print(secrets.token_hex(24))')" \
  HELPLINE_API_KEY_PEPPER="bench-pepper-$(python -c 'import secrets; print(secrets.token_hex(24))')" \
  HELPLINE_ATTACHMENTS_DIR="$tmp/attachments" \
  HELPLINE_FRONTEND_DIR="$PWD/frontend/dist" \
  HELPLINE_DEFAULT_RATE_LIMIT_PER_MINUTE=1000000 \
  HELPLINE_ANONYMOUS_RATE_LIMIT_PER_MINUTE=1000000 \
  HELPLINE_LOGIN_RATE_LIMIT_PER_IP_PER_MINUTE=10000 \
  HELPLINE_LOGIN_RATE_LIMIT_PER_ACCOUNT_PER_MINUTE=10000 \
  HELPLINE_LOG_LEVEL=WARNING
if [ "$owned" = 1 ]; then
  quiet helpline db upgrade
  echo "==> seeding ${BENCH_TICKETS:-20000} tickets" >&2
  quiet helpline seed --tickets "${BENCH_TICKETS:-20000}" --no-progress
fi
email="frontend-bench@example.com"
helpline users create --email "$email" --role agent --name "Frontend Bench" >/dev/null 2>&1 || true  # exists already
password="$(helpline users set-password --email "$email" 2>/dev/null)"
tickets="$(python - "$db_url" <<'PY'
import asyncio, sys, asyncpg
from helpline.seed.loader import connect_kwargs
async def main():
    conn = await asyncpg.connect(**connect_kwargs(sys.argv[1]))
    print(await conn.fetchval("SELECT reltuples::bigint FROM pg_class WHERE relname = 'tickets'"))
    await conn.close()
asyncio.run(main())
PY
)"
port="$(free_port)"
helpline serve --host 127.0.0.1 --port "$port" --workers 1 >"$tmp/server.log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do
  python -c "import urllib.request,sys; urllib.request.urlopen(sys.argv[1], timeout=1)" \
    "http://127.0.0.1:$port/health/live" 2>/dev/null && break
  sleep 0.2
done
echo "database: ${db_url##*/} (~${tickets} tickets); server: helpline serve, 1 worker, 127.0.0.1:$port"
(cd frontend && BENCH_URL="http://127.0.0.1:$port" BENCH_EMAIL="$email" BENCH_PASSWORD="$password" \
  node scripts/bench.mjs)
