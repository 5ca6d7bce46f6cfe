# Sourced by the other scripts: create the virtualenv once and keep it in step with the lock file.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
venv="${VENV_DIR:-$root/.venv}"
python="${PYTHON:-python3}"
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "kling-discord-bot needs Python 3.11 or newer, but '$python' is $("$python" -V 2>&1 || echo 'not installed'); run again with PYTHON=/path/to/python3.11 or newer." >&2
    exit 1
fi
if [ ! -x "$venv/bin/python" ]; then
    echo "First run: creating a virtualenv in $venv ..." >&2
    "$python" -m venv "$venv"
fi
stamp="$venv/.installed-$(cat pyproject.toml requirements-test.lock | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
    echo "Installing the bot and its test tools into $venv from requirements-test.lock (a minute or two the first time) ..." >&2
    pip_install=("$venv/bin/python" -m pip install --quiet --disable-pip-version-check)
    "${pip_install[@]}" -r requirements-test.lock
    # The project itself; anything pyproject.toml asks for that the lock file lacks is resolved here.
    "${pip_install[@]}" -e ".[test]"
    rm -f "$venv"/.installed-*
    touch "$stamp"
    echo "Installed." >&2
fi
export PATH="$venv/bin:$PATH"
