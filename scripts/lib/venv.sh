# shellcheck shell=bash
# Create or refresh the project's virtualenv (.venv) from the locked requirements.
# Sourced by scripts/dev and scripts/test; installs only when the lock or pyproject changed.
ensure_venv() {
  local root python stamp want
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
  python="${PYTHON:-python3}"
  if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "error: Python 3.11+ is required (set PYTHON=/path/to/python3.11)" >&2
    return 1
  fi
  if [ ! -x "$root/.venv/bin/python" ]; then
    echo "==> creating .venv" >&2
    "$python" -m venv "$root/.venv"
  fi
  stamp="$root/.venv/.helpline-installed"
  want="$(cat "$root/requirements/dev.lock" "$root/pyproject.toml" | sha256sum | cut -d' ' -f1)"
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    echo "==> installing locked dependencies (requirements/dev.lock)" >&2
    "$root/.venv/bin/python" -m pip install --quiet --disable-pip-version-check \
      --require-hashes -r "$root/requirements/dev.lock"
    "$root/.venv/bin/python" -m pip install --quiet --disable-pip-version-check \
      --no-deps --no-build-isolation -e "$root" 2>/dev/null ||
      "$root/.venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps -e "$root"
    echo "$want" > "$stamp"
  fi
  export PATH="$root/.venv/bin:$PATH"
}
