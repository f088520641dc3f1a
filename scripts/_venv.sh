# Sourced by scripts/run and scripts/test: find Python 3.11+, make .venv, install the project.
# Usage: ensure_venv EXTRAS   (e.g. "" or "test")
ensure_venv() {
    local extras="$1"
    local py="${PYTHON:-}"
    if [ -z "$py" ]; then
        for candidate in python3.11 python3 python3.12 python3.13; do
            if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c "import sys; sys.exit(sys.version_info < (3, 11))" 2>/dev/null; then
                py="$candidate"; break
            fi
        done
    fi
    [ -n "$py" ] || { echo "Loa needs Python 3.11 or newer." >&2; exit 1; }
    if [ ! -x .venv/bin/python ]; then
        echo "Creating .venv with $py"
        "$py" -m venv .venv
    fi
    local spec="."
    [ -n "$extras" ] && spec=".[$extras]"
    # Reinstall only when pyproject.toml changed since the last install.
    local stamp=".venv/.installed-${extras:-base}"
    if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
        .venv/bin/python -m pip install --quiet --upgrade pip >/dev/null 2>&1 || true
        # This machine's pip config names local mirrors that may be absent: drop that noise only.
        .venv/bin/python -m pip install --quiet -e "$spec" 2> >(grep -v '^WARNING: Location' >&2)
        touch "$stamp"
        # The project with extras is the project: scripts/run after scripts/test (or in its
        # tests) needs no second install.
        if [ -n "$extras" ]; then touch .venv/.installed-base; fi
    fi
}
