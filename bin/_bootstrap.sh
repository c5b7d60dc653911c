# Sourced by bin/run and bin/test: makes .venv and installs the pinned
# requirements, again only when a requirements file changed.
# Usage: source bin/_bootstrap.sh requirements.txt|requirements-dev.txt

_requirements_file="${1:-requirements.txt}"

_find_python() {
  for candidate in "${PYTHON:-}" python3.11 python3; do
    [ -n "$candidate" ] || continue
    if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      echo "$candidate"
      return 0
    fi
  done
  return 1
}

if [ ! -x .venv/bin/python ]; then
  python_bin=$(_find_python) || { echo "Python 3.11 or newer is needed (set PYTHON=/path/to/python3.11)." >&2; exit 1; }
  echo "Creating .venv with $python_bin …"
  "$python_bin" -m venv .venv
fi

_stamp=".venv/.installed-$(basename "$_requirements_file")"
_want=$(cat requirements*.txt | sha256sum | cut -d' ' -f1)
if [ "$(cat "$_stamp" 2>/dev/null)" != "$_want" ]; then
  echo "Installing $_requirements_file into .venv …"
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r "$_requirements_file"
  echo "$_want" > "$_stamp"
fi

if [ -f .env ]; then
  set -a
  # shellcheck disable=SC1091
  . ./.env
  set +a
fi
