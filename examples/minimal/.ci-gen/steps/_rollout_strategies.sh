# rollout strategies: deploy_* and rollback_* for rolling, blue_green and canary; sourced.
# Expects APP, KUBE, TIMEOUT, IMAGE and the helpers of _common.sh and _kustomize.sh.
# shellcheck shell=bash

# A read of cluster state; a dry run prints it and reads nothing (there may be no cluster).
kread() {
  if is_dry_run; then printf '+ %s\n' "$(quote_cmd "${KUBE[@]}" "$@")" >&2; return 0; fi
  "${KUBE[@]}" "$@" 2>/dev/null || true
}

exists() {  # exists KIND NAME (a dry run assumes it does, to show the whole flow)
  is_dry_run && return 0
  [ -n "$(kread get "$1" "$2" --ignore-not-found -o name)" ]
}

wait_rollout() { run "${KUBE[@]}" rollout status "deployment/$1" --timeout="$TIMEOUT"; }

set_replicas() { run "${KUBE[@]}" patch deployment "$1" --type merge -p "{\"spec\":{\"replicas\":$2}}"; }

# ---- rolling ----

deploy_rolling() {
  section "apply"
  kapply stable
  section "rollout status (deadline $TIMEOUT)"
  if wait_rollout "$APP"; then return 0; fi
  section "rollout failed: undo"
  run "${KUBE[@]}" rollout undo "deployment/$APP" || die "rollout of $IMAGE failed and undo failed too"
  wait_rollout "$APP" || true
  die "rollout of $IMAGE did not become available within $TIMEOUT; rolled back to the previous revision"
}

rollback_rolling() {
  # A deploy that stopped before applying (a failed signature check) left the previous release
  # live: undoing it would take a good release down.
  if ! is_dry_run && ! runs_this_release "$APP"; then
    section "the live $APP does not run this release: nothing to undo"
    return 0
  fi
  run "${KUBE[@]}" rollout undo "deployment/$APP"
  wait_rollout "$APP"
}

# ---- blue-green ----

live_color() { kread get service "$APP" -o 'jsonpath={.spec.selector.color}'; }

other_color() { if [ "$1" = "blue" ]; then printf green; else printf blue; fi; }

deploy_blue_green() {
  local live idle delay="${CI_GEN_BLUE_GREEN_SCALE_DOWN_DELAY:-300s}"
  live="$(live_color)"
  idle="$(other_color "${live:-green}")"
  section "deploy idle colour $idle (live: ${live:-none})"
  kapply color "$idle"
  if ! wait_rollout "$APP-$idle"; then
    set_replicas "$APP-$idle" 0 || true
    die "$APP-$idle did not become available within $TIMEOUT; traffic stays on ${live:-nothing}"
  fi
  section "switch Service $APP to $idle"
  kapply live-service "$idle"
  [ -n "$live" ] && [ "$live" != "$idle" ] || return 0
  if [ "$delay" = "never" ]; then return 0; fi
  section "keep $APP-$live for $delay, then scale it down"
  run sleep "$delay"
  set_replicas "$APP-$live" 0
}

image_of() { kread get deployment "$1" -o 'jsonpath={.spec.template.spec.containers[0].image}'; }

# Does Deployment $1 run this release? By the commit annotation every apply sets (a rollback job
# may only know the image by tag, the cluster by digest), else by the image reference.
runs_this_release() {
  if [ -n "$REVISION" ]; then
    [ "$(kread get deployment "$1" -o 'jsonpath={.metadata.annotations.ci-gen/revision}')" = "$REVISION" ]
  else
    [ "$(image_of "$1")" = "$IMAGE" ]
  fi
}

rollback_blue_green() {
  local live previous replicas
  live="$(live_color)"
  if is_dry_run; then live="${live:-green}"; fi  # no cluster is read: show the green -> blue case
  [ -n "$live" ] || die "Service $APP has no colour selector: nothing to roll back to"
  previous="$(other_color "$live")"
  if ! is_dry_run && ! runs_this_release "$APP-$live"; then
    # the failed release never took traffic: only its idle colour needs stopping
    section "live colour $live does not run $IMAGE: traffic never moved"
    if runs_this_release "$APP-$previous"; then set_replicas "$APP-$previous" 0; fi
    return 0
  fi
  exists deployment "$APP-$previous" || die "deployment $APP-$previous does not exist: nothing to roll back to"
  replicas="${CI_GEN_REPLICAS:-$(kread get deployment "$APP-$live" -o 'jsonpath={.spec.replicas}')}"
  section "scale $APP-$previous up and switch the Service back"
  set_replicas "$APP-$previous" "${replicas:-1}"
  wait_rollout "$APP-$previous"
  run "${KUBE[@]}" patch service "$APP" --type merge -p "{\"spec\":{\"selector\":{\"color\":\"$previous\"}}}"
}

# ---- canary ----

canary_replicas() {  # ceil(total * percent / 100), at least 1
  local total="$1" percent="$2"
  local n=$(( (total * percent + 99) / 100 ))
  [ "$n" -ge 1 ] || n=1
  printf '%s' "$n"
}

remove_canary() { run "${KUBE[@]}" delete deployment "$APP-canary" --ignore-not-found; }

analyse_canary() {
  local interval="$1"
  run python3 "$CI_GEN_STEPS_DIR/_canary.py" analyse --sli "${CI_GEN_SLI_FILE:-.ci-gen/monitoring/sli.json}" \
    --prometheus "${CI_GEN_PROMETHEUS_URL:-}" \
    --app "$APP" --window "$interval" --selector "${CI_GEN_PROMETHEUS_SELECTOR:-}" \
    --max-error-rate "${CI_GEN_MAX_ERROR_RATE:-0.01}" --max-p90-ms "${CI_GEN_MAX_P90_LATENCY_MS:-250}"
}

deploy_canary() {
  local total step n interval="${CI_GEN_CANARY_INTERVAL:-5m}"
  need_var CI_GEN_PROMETHEUS_URL
  if ! exists deployment "$APP"; then
    section "no stable $APP yet: first release goes out as a rolling deploy"
    deploy_rolling
    return 0
  fi
  total="${CI_GEN_REPLICAS:-$(kread get deployment "$APP" -o 'jsonpath={.spec.replicas}')}"
  for step in ${CI_GEN_CANARY_STEPS:-10 50}; do
    case "$step" in ""|*[!0-9]*) die --usage "CI_GEN_CANARY_STEPS must be percentages, got '$step'" ;; esac
    n="$(canary_replicas "${total:-1}" "$step")"
    section "canary step $step%: $n canary beside ${total:-?} stable replicas"
    kapply canary "$n"
    if ! wait_rollout "$APP-canary"; then remove_canary; die "canary did not become available within $TIMEOUT; removed"; fi
    run sleep "$interval"
    section "analysis over $interval"
    if ! analyse_canary "$interval"; then
      section "canary failed analysis: roll back"
      remove_canary
      die "canary at $step% failed analysis; removed, stable $APP untouched"
    fi
  done
  section "promote"
  deploy_rolling
  remove_canary
}

rollback_canary() {
  remove_canary
  if ! is_dry_run && runs_this_release "$APP"; then
    section "this image was promoted: undo the stable"
    rollback_rolling
  fi
}
