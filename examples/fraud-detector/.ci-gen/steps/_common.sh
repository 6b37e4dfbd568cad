# Shared helpers for the bash steps; sourced, never run.
# Every step: --dry-run / CI_GEN_DRY_RUN=1 prints commands instead of running them,
# secrets are masked as *** in everything we print, failures are one line on stderr.
# shellcheck shell=bash

CI_GEN_OUT_DIR="${CI_GEN_OUT_DIR:-.ci-gen/out}"
CI_GEN_REPORT_DIR="${CI_GEN_REPORT_DIR:-.ci-gen/reports}"
CI_GEN_DRY_RUN="${CI_GEN_DRY_RUN:-0}"
CI_GEN_STEP="${CI_GEN_STEP:-$(basename "$0")}"
export CI_GEN_STEPS_DIR
CI_GEN_STEPS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# Names of variables whose values must never be printed.
CI_GEN_SECRET_VARS="CI_GEN_REGISTRY_PASSWORD CI_REGISTRY_PASSWORD COSIGN_PASSWORD COSIGN_KEY"

section() { printf '== ci-gen %s: %s\n' "$CI_GEN_STEP" "$*"; }

warn() { printf 'ci-gen %s: warning: %s\n' "$CI_GEN_STEP" "$(mask "$*")" >&2; }

# One line on stderr, then exit non-zero (2 for bad input, 1 otherwise).
die() {
  local code=1
  if [ "${1:-}" = "--usage" ]; then code=2; shift; fi
  printf 'ci-gen %s: error: %s\n' "$CI_GEN_STEP" "$(mask "$*")" >&2
  exit "$code"
}

is_dry_run() { [ "$CI_GEN_DRY_RUN" = "1" ] || [ "$CI_GEN_DRY_RUN" = "true" ]; }

# Replace the value of every secret variable with *** (only values long enough to matter,
# so a one-letter password cannot blank out every "a" in the log).
mask() {
  local text="$*" name value
  for name in $CI_GEN_SECRET_VARS; do
    value="${!name:-}"
    if [ "${#value}" -ge 3 ]; then text="${text//"$value"/***}"; fi
  done
  printf '%s' "$text"
}

quote_cmd() {
  local out="" arg
  for arg in "$@"; do out+="$(printf '%q' "$arg") "; done
  printf '%s' "${out% }"
}

# Print a command (masked), run it unless dry-run. A failure outside an `if` ends the step
# through the ERR trap below with one line naming the command.
FAILED_CMD=""
run() {
  local rc=0
  FAILED_CMD=""
  printf '+ %s\n' "$(mask "$(quote_cmd "$@")")"
  is_dry_run && return 0
  "$@" || rc=$?
  # our Python helpers print their own one-line reason; tools get one from on_error
  case "${2:-}" in "$CI_GEN_STEPS_DIR"/_*.py) ;; *) [ "$rc" -eq 0 ] || FAILED_CMD="$1" ;; esac
  return "$rc"
}

on_error() {
  local rc=$?
  if [ -n "$FAILED_CMD" ]; then
    printf 'ci-gen %s: error: %s failed with exit code %s\n' "$CI_GEN_STEP" "$FAILED_CMD" "$rc" >&2
  fi
  exit "$rc"
}
set -E
trap on_error ERR

# run with a secret on stdin (e.g. --password-stdin) so it never appears in argv or logs.
run_with_stdin() {
  local input="$1"; shift
  printf '+ printf %%s *** | %s\n' "$(mask "$(quote_cmd "$@")")"
  is_dry_run && return 0
  printf '%s' "$input" | "$@"
}

need_var() {
  local name
  for name in "$@"; do
    [ -n "${!name:-}" ] || die --usage "$name is required"
  done
}

need_tool() {
  is_dry_run && return 0
  command -v "$1" >/dev/null 2>&1 || die "$1 not found on PATH${2:+ ($2)}"
}

git_sha() {
  if [ -n "${CI_GEN_GIT_SHA:-}" ]; then printf '%s' "$CI_GEN_GIT_SHA"
  elif [ -n "${CI_COMMIT_SHA:-}" ]; then printf '%s' "$CI_COMMIT_SHA"
  elif [ -n "${GIT_COMMIT:-}" ]; then printf '%s' "$GIT_COMMIT"
  else git rev-parse HEAD 2>/dev/null || die "no commit SHA: set CI_GEN_GIT_SHA or run in a git checkout"
  fi
}

# build-image writes image.env; later steps take the pushed digest from it unless told otherwise.
load_image_env() {
  local file="$CI_GEN_OUT_DIR/image.env" line key value
  [ -f "$file" ] || return 0
  while IFS= read -r line || [ -n "$line" ]; do
    case "$line" in CI_GEN_IMAGE_REF=*|CI_GEN_IMAGE_DIGEST=*) ;; *) continue ;; esac
    key="${line%%=*}"; value="${line#*=}"
    # an explicit variable from the pipeline wins over the artifact
    [ -n "${!key:-}" ] || export "$key=$value"
  done < "$file"
}

# The image to act on: CI_GEN_IMAGE_REF, else image.env, else name:sha.
image_ref() {
  load_image_env
  if [ -n "${CI_GEN_IMAGE_REF:-}" ]; then printf '%s' "$CI_GEN_IMAGE_REF"
  elif [ -n "${CI_GEN_IMAGE_NAME:-}" ]; then printf '%s:%s' "$CI_GEN_IMAGE_NAME" "$(git_sha)"
  else die --usage "CI_GEN_IMAGE_REF or CI_GEN_IMAGE_NAME is required"
  fi
}

# Parse the one optional ACTION and --dry-run; sets ACTION.
parse_args() {
  local allowed="$1" default="$2"; shift 2
  ACTION="$default"
  while [ "$#" -gt 0 ]; do
    case "$1" in
      --dry-run) CI_GEN_DRY_RUN=1 ;;
      -h|--help) sed -n '2,/^[^#]/{/^#/s/^# \{0,1\}//p}' "$0"; exit 0 ;;
      -*) die --usage "unknown option $1" ;;
      *) ACTION="$1" ;;
    esac
    shift
  done
  case " $allowed " in
    *" $ACTION "*) ;;
    *) die --usage "ACTION must be one of: $allowed (got '${ACTION}')" ;;
  esac
  export CI_GEN_DRY_RUN
}
