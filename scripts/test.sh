#!/usr/bin/env bash
# Installs everything the test suite needs, then runs the whole suite.
#   scripts/test.sh [pytest args...]
#   scripts/test.sh --dry-run      say what would be installed and run; change nothing
# Python packages go into a virtual environment, never the system interpreter: the active one
# ($VIRTUAL_ENV), else .venv in this checkout (created on the first run, reused after;
# CI_GEN_VENV=DIR puts it elsewhere). System tools (groovy + JDK, shellcheck, git, rsync, buildah,
# registry, prometheus, ...) come from apt-get when running as root; otherwise a warning names
# what is missing and the tests needing it skip (under CI=true they fail). gitlab-ci-local from npm.
# The steps extra pulls torch: from PyPI that is the CUDA build (about 2.5 GB with the NVIDIA
# wheels); CI_GEN_TORCH_INDEX=https://download.pytorch.org/whl/cpu takes the CPU build instead.
set -euo pipefail
cd "$(dirname "$0")/.."

dry_run=
if [ "${1:-}" = "--dry-run" ]; then dry_run=1; shift; fi
export CI_GEN_DRY_RUN="${dry_run:-${CI_GEN_DRY_RUN:-}}"
do_run() { if [ -n "$CI_GEN_DRY_RUN" ]; then echo "would run: $*"; else "$@"; fi; }

# shellcheck source=scripts/venv.sh
. scripts/venv.sh
ci_gen_venv "${CI_GEN_VENV:-.venv}"
venv="$CI_GEN_VENV_DIR"
echo "== python packages go into the virtual environment $venv ($CI_GEN_VENV_STATE)"
case "$venv" in /*) ;; *) venv="$PWD/$venv" ;; esac
export VIRTUAL_ENV="$venv" PATH="$venv/bin:$PATH"
export CI_GEN_PYTHON="$VIRTUAL_ENV/bin/python"
hash -r

need_apt=()
for tool in groovy:groovy java:default-jdk-headless shellcheck:shellcheck git:git rsync:rsync chromium:chromium; do
  command -v "${tool%%:*}" >/dev/null 2>&1 || need_apt+=("${tool#*:}")
done
if [ "${#need_apt[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "== installing ${need_apt[*]} (apt-get)"
    do_run apt-get update -qq
    DEBIAN_FRONTEND=noninteractive do_run apt-get install -y -qq "${need_apt[@]}"
  else
    echo "warning: missing ${need_apt[*]} (not root: no apt-get); tests needing them will skip" >&2
  fi
fi
bash .ci/install-steps.sh

echo "== installing ci-gen with the test, steps, run, report and datadog extras (pip, into $venv)"
do_run "$CI_GEN_PYTHON" -m pip install -q --disable-pip-version-check -e '.[test,steps,run,report,datadog]'

if ! command -v gitlab-ci-local >/dev/null 2>&1; then
  if command -v npm >/dev/null 2>&1; then
    echo "== installing gitlab-ci-local 4.73.0 (npm; newer releases need Node 22)"
    do_run npm install -g --silent gitlab-ci-local@4.73.0 >/dev/null 2>&1 || echo "warning: gitlab-ci-local not installed" >&2
  else
    echo "warning: npm not found: gitlab-ci-local not installed; the tests running GitLab jobs locally will skip" >&2
  fi
fi

if [ -z "${JAVA_HOME:-}" ]; then
  for candidate in /usr/lib/jvm/java-17-openjdk-* /usr/lib/jvm/default-java; do
    if [ -x "$candidate/bin/java" ]; then export JAVA_HOME="$candidate"; break; fi
  done
fi

echo "== running the test suite"
if [ -n "$CI_GEN_DRY_RUN" ]; then echo "would run: $CI_GEN_PYTHON -m pytest $*"; exit 0; fi
exec "$CI_GEN_PYTHON" -m pytest "$@"
