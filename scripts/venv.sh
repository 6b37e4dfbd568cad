# shellcheck shell=bash
# Sourced by scripts/test.sh (and its tests): pick the virtual environment the test dependencies
# go into. Never the interpreter first on PATH: Debian 12's system python3 refuses pip
# (externally-managed-environment), and installing there would mix ci-gen's pins into the system.
#
#   ci_gen_venv DIR    sets CI_GEN_VENV_DIR and CI_GEN_VENV_STATE (active | reused | created;
#                      with CI_GEN_DRY_RUN set, a missing one is not created: "would be created ...")
#
# An active virtualenv ($VIRTUAL_ENV) is used as it is; otherwise DIR is reused when it holds a
# working interpreter, else created with `python3 -m venv`. When that fails for want of
# python3-venv (Debian's ensurepip), root installs it with apt-get; anyone else is told how.

# shellcheck disable=SC2034  # CI_GEN_VENV_DIR and CI_GEN_VENV_STATE are this function's results
ci_gen_venv() {
  local dir="$1" python="${CI_GEN_BASE_PYTHON:-python3}"
  if [ -n "${VIRTUAL_ENV:-}" ] && [ -x "$VIRTUAL_ENV/bin/python" ]; then
    CI_GEN_VENV_DIR="$VIRTUAL_ENV" CI_GEN_VENV_STATE=active
    return 0
  fi
  CI_GEN_VENV_DIR="$dir"
  if [ -x "$dir/bin/python" ] && "$dir/bin/python" -c 'import pip' >/dev/null 2>&1; then
    CI_GEN_VENV_STATE=reused
    return 0
  fi
  if [ -n "${CI_GEN_DRY_RUN:-}" ]; then
    CI_GEN_VENV_STATE="would be created with $python -m venv"
    return 0
  fi
  if ! command -v "$python" >/dev/null 2>&1; then
    echo "error: $python not found: install Python 3.10 or newer (Debian: apt-get install python3 python3-venv)" >&2
    return 1
  fi
  if ! "$python" -m venv "$dir" >/dev/null 2>&1; then
    local version
    version="$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      echo "== installing python${version}-venv (apt-get; python3 -m venv needs it)"
      apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "python${version}-venv" >/dev/null
      rm -rf "$dir"
      "$python" -m venv "$dir"
    else
      echo "error: \`$python -m venv $dir\` failed: install python${version}-venv" \
           "(sudo apt-get install python${version}-venv), or activate a virtualenv and rerun" >&2
      return 1
    fi
  fi
  CI_GEN_VENV_STATE=created
}
