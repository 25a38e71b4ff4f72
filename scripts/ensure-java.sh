#!/usr/bin/env bash
# Make sure a Java runtime Spark 4 can use (17 or later) is there, for the
# `spark` dbt target and its tests. Spark runs inside the dbt process through
# pyspark, which starts `$JAVA_HOME/bin/java`, or `java` from PATH when
# JAVA_HOME is unset; without it dbt-spark only says "Java gateway process
# exited". Installs Debian's openjdk-17-jre-headless when no java is found
# (apt-get update first); exits 1 with one line naming the missing piece when
# it cannot. Prints the Java it found.
# Usage: scripts/ensure-java.sh
set -euo pipefail

fail() {
    echo "ensure-java: $*" >&2
    exit 1
}

# The `java` pyspark would start, or nothing.
find_java() {
    if [[ -n "${JAVA_HOME:-}" ]]; then
        [[ -x "$JAVA_HOME/bin/java" ]] || fail "JAVA_HOME=$JAVA_HOME has no bin/java;" \
            "point it at a Java 17+ runtime or unset it to use java from PATH"
        echo "$JAVA_HOME/bin/java"
    else
        command -v java || true
    fi
}

java_bin="$(find_java)"
if [[ -z "$java_bin" ]]; then
    sudo=""
    if [[ "$EUID" != "0" ]]; then
        command -v sudo >/dev/null 2>&1 || fail "java is missing and this user cannot" \
            "run apt-get; install a Java 17+ runtime (Debian: openjdk-17-jre-headless)"
        sudo="sudo"
    fi
    command -v apt-get >/dev/null 2>&1 || fail "java is missing and apt-get is not" \
        "available; install a Java 17+ runtime and put java on PATH or set JAVA_HOME"
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq --no-install-recommends openjdk-17-jre-headless >/dev/null
    java_bin="$(find_java)"
    [[ -n "$java_bin" ]] || fail "openjdk-17-jre-headless is installed but java is not on PATH"
fi

# `java -version` prints e.g. `openjdk version "17.0.15" 2025-04-15` (or "1.8.0_402").
version_line="$("$java_bin" -version 2>&1 | head -n 1)" || fail "$java_bin -version failed"
version="$(sed -E 's/.*version "([^"]+)".*/\1/' <<<"$version_line")"
major="${version%%.*}"
[[ "$major" == "1" ]] && major="$(cut -d. -f2 <<<"$version")"
[[ "$major" =~ ^[0-9]+$ ]] || fail "cannot read the Java version from '$version_line'"
((major >= 17)) || fail "$java_bin is Java $version; Spark 4 needs Java 17 or later" \
    "(Debian: openjdk-17-jre-headless)"
echo "ensure-java: $java_bin (Java $version)"
