#!/usr/bin/env bash
# Installs everything the test suite needs, then runs the whole suite.
#   scripts/test.sh [pytest args...]
# System tools (groovy + JDK, shellcheck, git, rsync, buildah, registry, prometheus, ...) are
# installed with apt-get when running as root and missing; Python packages with pip into the
# current interpreter (use a virtualenv if you prefer); gitlab-ci-local with npm.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
for tool in groovy:groovy java:default-jdk-headless shellcheck:shellcheck git:git rsync:rsync chromium:chromium; do
  command -v "${tool%%:*}" >/dev/null 2>&1 || need_apt+=("${tool#*:}")
done
if [ "${#need_apt[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "== installing ${need_apt[*]} (apt-get)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
  else
    echo "warning: missing ${need_apt[*]}; install them (tests needing them will skip)" >&2
  fi
fi
if [ -x .ci/install-steps.sh ] || [ -f .ci/install-steps.sh ]; then
  bash .ci/install-steps.sh
fi

echo "== installing ci-gen with the test, steps, run and report extras (pip)"
python3 -m pip install -q --disable-pip-version-check -e '.[test,steps,run,report]'

if command -v npm >/dev/null 2>&1 && ! command -v gitlab-ci-local >/dev/null 2>&1; then
  echo "== installing gitlab-ci-local 4.73.0 (npm; newer releases need Node 22)"
  npm install -g --silent gitlab-ci-local@4.73.0 >/dev/null 2>&1 || echo "warning: gitlab-ci-local not installed" >&2
fi

if [ -z "${JAVA_HOME:-}" ]; then
  for candidate in /usr/lib/jvm/java-17-openjdk-* /usr/lib/jvm/default-java; do
    if [ -x "$candidate/bin/java" ]; then export JAVA_HOME="$candidate"; break; fi
  done
fi

echo "== running the test suite"
exec python3 -m pytest "$@"
