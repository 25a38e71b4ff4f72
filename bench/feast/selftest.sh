#!/usr/bin/env bash
# Self-test of the Feast 0.67 harness: tiny generated data, both scripts, both
# offline stores, compared with a brute-force oracle. Prints a JSON summary
# (Feast's differences from the oracle, counted by cause); fails only when the
# harness itself is broken. Installs the venv first if needed.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="${FEAST_VENV:-$here/../.feast-venv}"
"$here/setup.sh" >&2
export FEAST_USAGE=False DO_NOT_TRACK=1 PYTHONWARNINGS=ignore::DeprecationWarning
exec "$venv/bin/python" "$here/selftest.py"
