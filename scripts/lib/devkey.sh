# shellcheck shell=bash
# The development admin key of scripts/dev: one key, not one more per start.
# dev_admin_key EMAIL FILE prints the key kept in FILE when it still works (checked with
# `helpline keys verify`), else mints a new one named "development" that revokes any other live
# key of that name (`--replace`), keeps it in FILE (mode 600) and prints it.
dev_admin_key() {
  local email="$1" file="$2" key
  if [ -s "$file" ] && helpline keys verify <"$file" 2>/dev/null; then
    cat "$file"
    return 0
  fi
  key="$(helpline keys create --email "$email" --name development --replace)" || return 1
  mkdir -p "$(dirname "$file")"
  (umask 077 && printf '%s\n' "$key" >"$file")
  printf '%s\n' "$key"
}
