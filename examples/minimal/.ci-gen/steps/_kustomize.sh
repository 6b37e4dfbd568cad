# Kustomizations for rollout; sourced. Every apply goes through one, so the image is set by
# digest at apply time (the manifests name the image without a tag) and a colour or canary copy
# of the app's manifests is made without editing them.
# Expects APP, IMAGE, IMAGE_NAME, MANIFESTS, REVISION and the helpers of _common.sh.
# shellcheck shell=bash

# Generated kustomizations live in a temporary folder, never in the repo.
KUSTOMIZE_ROOT="$(mktemp -d "${TMPDIR:-/tmp}/ci-gen-rollout.XXXXXX")"
trap 'rm -rf "$KUSTOMIZE_ROOT"' EXIT

# images: transformer entry for IMAGE (name@sha256:... or name:tag)
kustomize_images() {
  printf 'images:\n- name: %s\n' "$(yaml_q "$IMAGE_NAME")"
  case "$IMAGE" in
    *@sha256:*) printf '  digest: %s\n' "$(yaml_q "${IMAGE##*@}")" ;;
    */*:*|[!/]*:*) printf '  newTag: %s\n' "$(yaml_q "${IMAGE##*:}")" ;;
  esac
}

yaml_q() {  # a double-quoted YAML scalar
  local s="${1//\\/\\\\}"
  printf '"%s"' "${s//\"/\\\"}"
}

delete_kind_patch() {
  printf -- '- target: {kind: %s}\n  patch: |-\n    $patch: delete\n    apiVersion: v1\n    kind: %s\n    metadata: {name: ignored}\n' "$1" "$1"
}

# make_kustomization VARIANT [ARG]; sets KDIR to the folder. VARIANT:
#   stable            the manifests as they are
#   color C           Deployments only, named APP-C, label color=C (selectors too)
#   live-service C    Services only, selector color=C
#   canary N          Deployments only, named APP-canary, label track=canary, N replicas
make_kustomization() {
  local variant="$1" arg="${2:-}" dir file n=0
  [ -d "$MANIFESTS" ] || die "manifest folder $MANIFESTS does not exist (CI_GEN_MANIFESTS)"
  dir="$KUSTOMIZE_ROOT/$variant${arg:+-$arg}"
  KDIR="$dir"
  mkdir -p "$dir"
  {
    printf 'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n'
    for file in "$MANIFESTS"/*.yaml "$MANIFESTS"/*.yml "$MANIFESTS"/*.json; do
      [ -f "$file" ] || continue
      n=$((n + 1)); cp "$file" "$dir/r$n-${file##*/}"; printf -- '- %s\n' "$(yaml_q "r$n-${file##*/}")"
    done
    kustomize_images
    # which commit a Deployment runs, for rollback decisions (see runs_this_release)
    if [ -n "$REVISION" ]; then printf 'commonAnnotations:\n  ci-gen/revision: %s\n' "$(yaml_q "$REVISION")"; fi
    variant_fields "$variant" "$arg"
  } > "$dir/kustomization.yaml"
  [ "$n" -gt 0 ] || die "no manifests (*.yaml, *.yml, *.json) in $MANIFESTS"
}

replicas_patch() {  # replicas_patch N: every Deployment of the variant gets N replicas
  printf -- '- target: {kind: Deployment}\n  patch: |-\n    - op: replace\n      path: /spec/replicas\n      value: %s\n' "$1"
}

# GPUs per replica on the app's container, also for the app's own manifests (0: left as written)
gpu_patch() {
  printf -- '- target: {kind: Deployment}\n  patch: |-\n    apiVersion: apps/v1\n    kind: Deployment\n'
  printf '    metadata: {name: ignored}\n    spec:\n      template:\n        spec:\n          containers:\n'
  printf '          - name: %s\n            resources:\n              limits: {nvidia.com/gpu: %s}\n' "$(yaml_q "$APP")" "$1"
}

# The patches every Deployment variant gets from CI_GEN_REPLICAS, CI_GEN_GPU and CI_GEN_PULL_SECRET.
sizing_patches() {
  local replicas="${CI_GEN_REPLICAS:-}" gpu="${CI_GEN_GPU:-0}"
  case "$replicas" in *[!0-9]*) die --usage "CI_GEN_REPLICAS must be a number, got '$replicas'" ;; esac
  case "$gpu" in ""|*[!0-9]*) die --usage "CI_GEN_GPU must be a number, got '$gpu'" ;; esac
  if [ -n "$replicas" ]; then replicas_patch "$replicas"; fi
  if [ "$gpu" -gt 0 ]; then gpu_patch "$gpu"; fi
  if [ -n "${CI_GEN_PULL_SECRET:-}" ]; then pull_secret_patch "$CI_GEN_PULL_SECRET"; fi
}

# The environment's own registry account pulls the image (see apply_pull_secret in rollout).
pull_secret_patch() {
  printf -- '- target: {kind: Deployment}\n  patch: |-\n    apiVersion: apps/v1\n    kind: Deployment\n'
  printf '    metadata: {name: ignored}\n    spec:\n      template:\n        spec:\n          imagePullSecrets:\n'
  printf '          - name: %s\n' "$(yaml_q "$1")"
}

# Objects of the whole app, not of one colour or the canary copy: the stable apply owns them.
# (A delete patch that matches nothing is a no-op, so apps without them are unaffected.)
app_wide_deletes() {
  local kind
  for kind in HorizontalPodAutoscaler PodDisruptionBudget ServiceMonitor PrometheusRule; do
    delete_kind_patch "$kind"
  done
  printf -- '- target: {kind: ConfigMap, name: %s}\n  patch: |-\n    $patch: delete\n    apiVersion: v1\n    kind: ConfigMap\n    metadata: {name: ignored}\n' \
    "$(yaml_q "$APP-dashboard")"
}

variant_fields() {
  case "$1" in
    stable)
      local sizing
      sizing="$(sizing_patches)"
      [ -z "$sizing" ] || printf 'patches:\n%s\n' "$sizing" ;;
    color)
      printf 'nameSuffix: -%s\nlabels:\n- pairs: {color: %s}\n  includeSelectors: true\npatches:\n' "$2" "$2"
      sizing_patches
      delete_kind_patch Service
      app_wide_deletes ;;
    live-service)
      printf 'patches:\n- target: {kind: Service, name: %s}\n  patch: |-\n    - op: add\n      path: /spec/selector/color\n      value: %s\n' \
        "$(yaml_q "$APP")" "$2"
      delete_kind_patch Deployment ;;
    canary)
      printf 'nameSuffix: -canary\nlabels:\n- pairs: {track: canary}\n  includeSelectors: true\npatches:\n'
      CI_GEN_REPLICAS="$2" sizing_patches
      delete_kind_patch Service
      app_wide_deletes ;;
    *) die "unknown kustomization variant $1" ;;
  esac
}

# apply VARIANT [ARG]: print the generated kustomization (it is what gets applied), then apply it.
kapply() {
  make_kustomization "$@"
  sed 's/^/    /' "$KDIR/kustomization.yaml"
  run "${KUBE[@]}" apply -k "$KDIR"
}
