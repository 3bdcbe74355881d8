# shellcheck shell=bash
# The web interface's tool chain, for scripts/dev, scripts/test and `scripts/bench frontend`:
# Node.js check, `npm ci` when the lock changed, a build when the sources changed, Debian's
# Chromium for the browser tests, and a throw-away Helpline server on a fresh database.

frontend_root() { cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd; }

# True when Node.js 20.19+ is on PATH (Vite 8 needs it).
node_ok() {
  command -v node >/dev/null 2>&1 || return 1
  node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)'
}

# npm ci when node_modules is missing or package-lock.json changed since the last install.
frontend_deps() {
  local dir want
  dir="$(frontend_root)/frontend"
  want="$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)"
  if [ ! -d "$dir/node_modules" ] || [ "$(cat "$dir/node_modules/.helpline-lock" 2>/dev/null)" != "$want" ]; then
    echo "==> npm ci (frontend/package-lock.json)" >&2
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >&2)
    echo "$want" > "$dir/node_modules/.helpline-lock"
  fi
}

# Build frontend/dist when it is missing or older than any source of the build.
frontend_build() {
  local dir
  dir="$(frontend_root)/frontend"
  frontend_deps
  if [ ! -f "$dir/dist/index.html" ] || [ -n "$(find "$dir/src" "$dir/public" "$dir/index.html" \
      "$dir/package-lock.json" "$dir/vite.config.ts" "$dir/tsconfig.json" \
      -newer "$dir/dist/index.html" -print -quit 2>/dev/null)" ]; then
    echo "==> building the web interface (frontend/dist)" >&2
    (cd "$dir" && npm run --silent build >&2)
  fi
}

# Debian's Chromium for Playwright (it cannot download browsers here); installed when root.
chromium_path() { echo "${HELPLINE_CHROMIUM:-/usr/bin/chromium}"; }
ensure_chromium() {
  [ -x "$(chromium_path)" ] && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "==> installing Debian's chromium for the browser tests" >&2
    apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >&2
  fi
  [ -x "$(chromium_path)" ] || {
    echo "error: no browser at $(chromium_path) (install chromium or set HELPLINE_CHROMIUM)" >&2
    return 1
  }
}

# Run a command quietly; show its output only when it fails.
quiet() {
  local out
  if ! out="$("$@" 2>&1)"; then
    echo "error: $* failed:" >&2
    echo "$out" >&2
    return 1
  fi
}

free_port() {
  python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Start `helpline serve` on 127.0.0.1 with its own new database and Redis prefix, plus demo
# users with passwords (exported as E2E_* for Playwright). Sets E2E_URL, E2E_PID, E2E_DB_URL.
# The database is HELPLINE_E2E_DATABASE_URL when given (e.g. a large benchmark database, kept),
# else a fresh one on the test server (dropped by e2e_stop).
e2e_start() {
  local server port log
  server="${HELPLINE_TEST_POSTGRES_URL:-${HELPLINE_TEST_DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/postgres}}"
  if [ -n "${HELPLINE_E2E_DATABASE_URL:-}" ]; then
    E2E_DB_URL="$HELPLINE_E2E_DATABASE_URL"
    E2E_DB_OWNED=0
  else
    E2E_DB_URL="$(python - "$server" <<'PY'
import asyncio, sys, uuid
from helpline.seed.loader import connect_kwargs
from sqlalchemy.engine import make_url
import asyncpg
server = make_url(sys.argv[1]).set(database="postgres")
name = f"helpline_e2e_{uuid.uuid4().hex[:12]}"
async def main():
    conn = await asyncpg.connect(**connect_kwargs(server.render_as_string(False)))
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
asyncio.run(main())
print(server.set(database=name).render_as_string(False))
PY
)"
    E2E_DB_OWNED=1
  fi
  export E2E_DB_URL E2E_DB_OWNED
  E2E_TMP="$(mktemp -d)"
  export HELPLINE_ENV=test \
    HELPLINE_DATABASE_URL="$E2E_DB_URL" \
    HELPLINE_REDIS_URL="${HELPLINE_TEST_REDIS_URL:-redis://127.0.0.1:6379/0}" \
    HELPLINE_REDIS_KEY_PREFIX="helpline-e2e-$$" \
    HELPLINE_SECRET_KEY="e2e-secret-key-$(python -c 'import secrets; print(secrets.token_hex(24))')" \
    HELPLINE_API_KEY_PEPPER="e2e-pepper-$(python -c 'import secrets; print(secrets.token_hex(24))')" \
    HELPLINE_ATTACHMENTS_DIR="$E2E_TMP/attachments" \
    HELPLINE_FRONTEND_DIR="$(frontend_root)/frontend/dist" \
    HELPLINE_LOGIN_RATE_LIMIT_PER_IP_PER_MINUTE=10000 \
    HELPLINE_LOGIN_RATE_LIMIT_PER_ACCOUNT_PER_MINUTE=10000 \
    HELPLINE_ANONYMOUS_RATE_LIMIT_PER_MINUTE=100000 \
    HELPLINE_DEFAULT_RATE_LIMIT_PER_MINUTE=100000 \
    HELPLINE_LOG_LEVEL=WARNING
  quiet helpline db upgrade || return 1
  E2E_PASSWORD="Kx7-$(python -c 'import secrets; print(secrets.token_urlsafe(15))')"
  export E2E_PASSWORD
  local who role email
  for who in admin:admin agent1:agent agent2:agent customer:customer other:customer; do
    role="${who#*:}"
    email="e2e-${who%%:*}@example.com"
    quiet helpline users create --email "$email" --role "$role" --name "E2E ${who%%:*}" ||
      [ "${E2E_DB_OWNED}" = 0 ] || return 1  # a kept database may have them already
    quiet helpline users set-password --email "$email" --password-stdin <<<"$E2E_PASSWORD" ||
      return 1
  done
  port="$(free_port)"
  log="$E2E_TMP/server.log"
  helpline serve --host 127.0.0.1 --port "$port" >"$log" 2>&1 &
  E2E_PID=$!
  E2E_URL="http://127.0.0.1:$port"
  export E2E_URL E2E_PID E2E_TMP
  for _ in $(seq 1 100); do
    if python -c "import urllib.request,sys; urllib.request.urlopen(sys.argv[1] + '/health/ready', timeout=1)" "$E2E_URL" 2>/dev/null; then
      return 0
    fi
    kill -0 "$E2E_PID" 2>/dev/null || break
    sleep 0.2
  done
  echo "error: the e2e server did not become ready; its log:" >&2
  cat "$log" >&2
  return 1
}

# Stop the server started by e2e_start and drop its database (when it made one).
e2e_stop() {
  if [ -n "${E2E_PID:-}" ]; then
    kill "$E2E_PID" 2>/dev/null || true
    wait "$E2E_PID" 2>/dev/null || true
    E2E_PID=""
  fi
  if [ "${E2E_DB_OWNED:-0}" = 1 ] && [ -n "${E2E_DB_URL:-}" ]; then
    python - "$E2E_DB_URL" <<'PY' || true
import asyncio, sys
import asyncpg
from sqlalchemy.engine import make_url
from helpline.seed.loader import connect_kwargs
url = make_url(sys.argv[1])
async def main():
    conn = await asyncpg.connect(**connect_kwargs(url.set(database="postgres").render_as_string(False)))
    await conn.execute(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')
    await conn.close()
asyncio.run(main())
PY
    E2E_DB_OWNED=0
  fi
  if [ -n "${E2E_TMP:-}" ]; then rm -rf "$E2E_TMP"; fi
  E2E_TMP=""
}
