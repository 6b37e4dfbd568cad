# cosign verification of one image digest, for `sign verify` and for `rollout deploy` before it
# applies anything; sourced. Expects the helpers of _common.sh.
# shellcheck shell=bash
#
# What the signature must match (the plan sets these from the manifest's scan.verify):
#   CI_GEN_COSIGN_PUBLIC_KEY      public key: a repo file (cosign.pub) or a KMS / k8s:// reference
#   CI_GEN_COSIGN_IDENTITY        keyless: the signing certificate's identity, exact
#   CI_GEN_COSIGN_IDENTITY_REGEXP keyless: the identity as a regular expression (instead)
#   CI_GEN_COSIGN_OIDC_ISSUER     keyless: the OIDC issuer of the identity (required with it)
# cosign verify's exit codes (cmd/cosign/errors/exit_codes.go): 10 the image has no signature,
# 11 no such tag, 12 signatures exist but none matches; anything else non-zero: it failed.

# The signature lives in the registry beside the image: log cosign in with the job's registry
# credential when it has one (the password through stdin, never on a command line).
cosign_login() {
  local user="${CI_GEN_REGISTRY_USER:-${CI_REGISTRY_USER:-}}" host="${1%%/*}"
  [ -n "$user" ] || return 0
  case "$host" in *.*|*:*|localhost) ;; *) host=index.docker.io ;; esac
  printf '+ cosign login %s -u %s --password-stdin\n' "$host" "$(mask "$user")"
  printf '%s' "${CI_GEN_REGISTRY_PASSWORD:-${CI_REGISTRY_PASSWORD:-}}" \
    | cosign login "$host" -u "$user" --password-stdin >/dev/null || die "cosign login to $host failed"
}

# verify_signature REF NAME: REF must be a digest (a tag can move between verify and apply);
# a dry run shows the command for a placeholder digest of NAME when the build pushed nothing.
verify_signature() {
  local ref="$1" name="$2" expect digest out errfile rc=0
  local args=(verify --output json)
  case "$ref" in
    *@sha256:*) ;;
    *)
      is_dry_run || die "cannot verify the signature of $ref: a tag can move, verify the digest that build-image pushed (its image.env)"
      ref="$name@sha256:<digest>"
      ;;
  esac
  if [ "${CI_GEN_REGISTRY_TLS_VERIFY:-1}" = "0" ]; then args+=(--allow-insecure-registry); fi
  if [ -n "${CI_GEN_COSIGN_PUBLIC_KEY:-}" ]; then
    args+=(--key "$CI_GEN_COSIGN_PUBLIC_KEY")
    expect="the key $CI_GEN_COSIGN_PUBLIC_KEY"
  elif [ -n "${CI_GEN_COSIGN_IDENTITY:-}${CI_GEN_COSIGN_IDENTITY_REGEXP:-}" ]; then
    [ -n "${CI_GEN_COSIGN_OIDC_ISSUER:-}" ] || die --usage "keyless verification needs CI_GEN_COSIGN_OIDC_ISSUER"
    if [ -n "${CI_GEN_COSIGN_IDENTITY:-}" ]; then
      args+=(--certificate-identity "$CI_GEN_COSIGN_IDENTITY")
      expect="the identity $CI_GEN_COSIGN_IDENTITY"
    else
      args+=(--certificate-identity-regexp "$CI_GEN_COSIGN_IDENTITY_REGEXP")
      expect="an identity matching $CI_GEN_COSIGN_IDENTITY_REGEXP"
    fi
    args+=(--certificate-oidc-issuer "$CI_GEN_COSIGN_OIDC_ISSUER")
    expect="$expect issued by $CI_GEN_COSIGN_OIDC_ISSUER"
  else
    die --usage "nothing to verify against: set CI_GEN_COSIGN_PUBLIC_KEY, or CI_GEN_COSIGN_IDENTITY (or _REGEXP) and CI_GEN_COSIGN_OIDC_ISSUER"
  fi
  section "verify the signature of $ref ($expect)"
  printf '+ %s\n' "$(mask "$(quote_cmd cosign "${args[@]}" "$ref")")"
  is_dry_run && return 0
  need_tool cosign "https://docs.sigstore.dev: install cosign in the step image"
  cosign_login "$ref"
  errfile="$(mktemp)"
  out="$(cosign "${args[@]}" "$ref" 2>"$errfile")" || rc=$?
  local reason
  reason="$(grep -v '^[[:space:]]*$' "$errfile" | head -n 1 | cut -c1-300 || true)"
  rm -f "$errfile"
  case "$rc" in
    0) ;;
    10) die "signature check failed for $ref: the image is not signed" ;;
    12) die "signature check failed for $ref: no signature matches $expect (${reason:-cosign exit 12})" ;;
    11) die "signature check failed for $ref: the registry has no such image" ;;
    *) die "signature check failed for $ref: cosign verify exited with $rc${reason:+: $reason}" ;;
  esac
  # cosign verified the reference it was given; the payloads must name exactly that digest, so
  # no other image's signature can pass for this one.
  digest="${ref##*@}"
  local signed
  signed="$(printf '%s' "$out" | grep -o '"docker-manifest-digest": *"[^"]*"' | sed 's/.*"\([^"]*\)"$/\1/' | sort -u | tr '\n' ' ' || true)"
  signed="${signed% }"
  [ "$signed" = "$digest" ] || die "signature check failed for $ref: the verified signatures are for ${signed:-no digest}, not $digest"
  printf '== ci-gen %s: signature of %s verified (%s)\n' "$CI_GEN_STEP" "$digest" "$expect"
}
