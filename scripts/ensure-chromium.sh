#!/usr/bin/env bash
# Make sure Debian's `chromium` is installed at /usr/bin/chromium, for the
# browser test of the docs site (tests/test_docs_browser.py). Playwright's
# Python package drives it; Playwright cannot download its own browsers here.
# Installs the Debian package when missing (apt-get update first) and does
# nothing when it is already there.
# Usage: scripts/ensure-chromium.sh
set -euo pipefail

if [[ -x /usr/bin/chromium ]]; then
    exit 0
fi

sudo=""
if [[ "$(id -u)" != "0" ]]; then
    if command -v sudo >/dev/null 2>&1; then
        sudo="sudo"
    else
        echo "ensure-chromium: /usr/bin/chromium is missing and this user cannot run apt-get;" \
            "install the Debian package chromium" >&2
        exit 1
    fi
fi

export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq chromium >/dev/null
/usr/bin/chromium --version
