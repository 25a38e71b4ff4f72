#!/usr/bin/env bash
# Create bench/.feast-venv with Feast 0.67.0 (duckdb extra) for the reference benchmarks.
# Feast is never a Pitstop dependency: it lives only in this git-ignored venv.
# Idempotent: a venv that already holds the pinned version is left alone.
# Usage: bench/feast/setup.sh            (prints the installed Feast version)
#        FEAST_VENV=/some/dir bench/feast/setup.sh
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="${FEAST_VENV:-$here/../.feast-venv}"
feast_version="0.67.0"
python_version="${FEAST_PYTHON:-3.11}"

export UV_COMPILE_BYTECODE=1 FEAST_USAGE=False DO_NOT_TRACK=1

installed_version() {
    "$venv/bin/python" -c \
        'import importlib.metadata as m; print(m.version("feast"))' 2>/dev/null || true
}

if [[ "$(installed_version)" != "$feast_version" ]]; then
    start=$(date +%s)
    if command -v uv >/dev/null 2>&1; then
        [[ -x "$venv/bin/python" ]] || uv venv --python "$python_version" "$venv"
        uv pip install --python "$venv/bin/python" "feast[duckdb]==$feast_version"
    else
        [[ -x "$venv/bin/python" ]] || "python$python_version" -m venv "$venv"
        "$venv/bin/pip" install --quiet "feast[duckdb]==$feast_version"
    fi
    echo "feast setup: installed in $(( $(date +%s) - start )) s" >&2
fi

echo "feast $(installed_version) in $venv"
