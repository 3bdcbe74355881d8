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
    _install_locked "$root" "$root/requirements/dev.lock"
    echo "$want" > "$stamp"
  fi
  export PATH="$root/.venv/bin:$PATH"
}

# Install a hash-checked lock into .venv and the project itself (editable), with uv when it can
# be had (about 10x faster than pip on the same lock), else with pip. uv comes from its own
# hash-checked lock (requirements/bootstrap.lock); HELPLINE_INSTALLER=pip forces pip.
_install_locked() {
  local root="$1" lock="$2" py="$1/.venv/bin/python" uv=""
  if [ "${HELPLINE_INSTALLER:-uv}" = uv ]; then
    if [ -x "$root/.venv/bin/uv" ]; then
      uv="$root/.venv/bin/uv"
    elif "$py" -m pip install --quiet --disable-pip-version-check --require-hashes \
      -r "$root/requirements/bootstrap.lock" >/dev/null 2>&1; then
      uv="$root/.venv/bin/uv"
    fi
  fi
  if [ -n "$uv" ] && "$uv" pip install --quiet --python "$py" --require-hashes -r "$lock" &&
    "$uv" pip install --quiet --python "$py" --no-deps -e "$root"; then
    return 0
  fi
  [ -z "$uv" ] || echo "==> uv failed; installing with pip" >&2
  "$py" -m pip install --quiet --disable-pip-version-check --require-hashes -r "$lock"
  "$py" -m pip install --quiet --disable-pip-version-check \
    --no-deps --no-build-isolation -e "$root" 2>/dev/null ||
    "$py" -m pip install --quiet --disable-pip-version-check --no-deps -e "$root"
}
