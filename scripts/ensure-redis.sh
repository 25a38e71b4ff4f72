#!/usr/bin/env bash
# Make sure a `redis-server` binary exists, for the Redis online-store tests
# and benchmarks. Installs the Debian package when missing (apt-get update
# first) and does nothing when one is already on PATH. Never starts a server:
# the test fixture starts its own on a free loopback port.
# Usage: scripts/ensure-redis.sh
set -euo pipefail

if command -v redis-server >/dev/null 2>&1; then
    exit 0
fi

sudo=""
if [[ "$(id -u)" != "0" ]]; then
    if command -v sudo >/dev/null 2>&1; then
        sudo="sudo"
    else
        echo "ensure-redis: redis-server is missing and this user cannot run apt-get;" \
            "install the Debian package redis-server" >&2
        exit 1
    fi
fi

export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends redis-server >/dev/null
# the package starts a system service on some images; the tests never use it
redis-server --version
