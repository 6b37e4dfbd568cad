"""manifest.py: validated YAML becomes frozen dataclasses with every default filled in, so that
nothing downstream reads a raw dict. (Each refused manifest has its case in tests/invalid/.)"""
from __future__ import annotations

import dataclasses

import pytest

from ci_gen.manifest import DRIFT_SCHEDULE, Approval, RunnerRoles, load_manifest_text
from ci_gen.targets import TARGETS
from tests.unit.manifests import manifest


def test_a_minimal_manifest_gets_every_default() -> None:
    m = manifest()
    assert m.file == "ci-gen.yaml" and m.name == "app"
    assert m.targets == ("gitlab", "jenkins")
    assert (m.image.base, m.image.context, m.image.builder, m.image.dockerfile) == (
        "nvidia/cuda:12.4.1-runtime-ubuntu22.04", ".", "buildah", None)
    assert (m.scan.severity, m.scan.ignore_unfixed, m.scan.secrets, m.scan.sbom, m.scan.sign) == (
        "HIGH", True, True, True, False)
    assert m.model is None and m.deploy is None and m.monitoring is None and m.infra is None
    assert m.tests == () and m.variables == () and m.secrets == () and m.schedules == ()


def test_the_model_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        manifest().name = "other"  # type: ignore[misc]


def test_targets_follow_the_registrys_order_whatever_the_manifests() -> None:
    assert manifest("targets: [circleci, jenkins, github]\n").targets == ("jenkins", "github", "circleci")


def test_every_target_has_runner_roles_and_an_unknown_one_has_none() -> None:
    m = manifest("runners: {gitlab: {default: [a, b]}, jenkins: {gpu: g}, circleci: {default: large}}\n")
    assert [name for name, _ in m.runners.by_target] == list(TARGETS)
    assert m.runners.of("gitlab") == RunnerRoles(("a", "b"), ())
    assert m.runners.of("jenkins") == RunnerRoles((), ("g",))  # one label becomes a one-element role
    assert m.runners.of("circleci") == RunnerRoles(("large",), ())
    assert m.runners.of("no-such-ci") == RunnerRoles((), ())


def test_values_become_text_as_yaml_spells_them() -> None:
    m = manifest("variables: {A: true, B: 3, C: '1.50', D: text}\n",
                 base="version: 1\nname: app\nimage: {name: r.example.com/app, build_args: {X: false, Y: 7}}\n")
    assert m.variables == (("A", "true"), ("B", "3"), ("C", "1.50"), ("D", "text"))  # a float must be quoted
    assert m.image.build_args == (("X", "false"), ("Y", "7"))


def test_environments_get_their_tier_credentials_and_approval_defaults() -> None:
    m = manifest("""\
        jenkins: {credentials: {kubeconfig: kube-default, registry: push}}
        deploy:
          environments:
            - {name: qa-1, kubernetes: {namespace: ml}}
            - name: eu
              tier: production
              kubernetes: {namespace: ml, context: prod}
              approval: true
              credentials: {kubeconfig: kube-eu, registry: pull-eu}
        """)
    assert m.deploy is not None
    qa, eu = m.deploy.environments
    assert (qa.tier, qa.kubeconfig, qa.registry, qa.approval, qa.kube_context) == ("testing", "kube-default", None,
                                                                                  None, None)
    assert (eu.tier, eu.kubeconfig, eu.registry, eu.kube_context) == ("production", "kube-eu", "pull-eu", "prod")
    assert eu.approval == Approval((), (), 1, "24h") and eu.approval.submitters == ()
    assert m.jenkins.credential("registry") == "push" and m.jenkins.credential("cosign") is None


def test_submitters_are_users_then_groups() -> None:
    m = manifest("""\
        deploy:
          environments:
            - {name: p, kubernetes: {namespace: ml}, approval: {users: [u1, u2], groups: [g], timeout: 2h}}
        """)
    assert m.deploy is not None and m.deploy.environments[0].approval is not None
    assert m.deploy.environments[0].approval.submitters == ("u1", "u2", "g")


def test_only_the_chosen_strategy_carries_its_settings() -> None:
    rolling = manifest("deploy: {environments: [{name: s, kubernetes: {namespace: ml}}]}\n").deploy
    assert rolling is not None and rolling.strategy == "rolling" and rolling.canary is None
    canary = manifest("""\
        deploy:
          strategy: canary
          canary: {steps: [5, 25], interval: 1m, analysis: {prometheus: "http://p:9090", max_error_rate: 0.05,
                                                            max_p90_latency_ms: 100}}
          environments: [{name: s, kubernetes: {namespace: ml}}]
        """).deploy
    assert canary is not None and canary.canary is not None
    block = canary.canary
    assert (block.steps, block.max_error_rate, block.max_p90_latency_ms) == ((5, 25), 0.05, 100.0)


def test_the_infra_drift_check_is_one_more_schedule() -> None:
    m = manifest("schedules: [{name: nightly, cron: '0 3 * * *', branch: main}]\n",
                 "infra: {environments: [staging], state: backend, dir: infra/, drift: '0 5 * * *'}\n")
    assert [(s.name, s.cron, s.branch) for s in m.schedules] == [("nightly", "0 3 * * *", "main"),
                                                                  (DRIFT_SCHEDULE, "0 5 * * *", "main")]
    assert m.infra is not None and m.infra.dir == "infra"  # trailing slash dropped: one spelling per folder


def test_the_display_name_is_the_manifests_file_in_every_message() -> None:
    text = "version: 1\nname: app\nimage: {name: r.example.com/app}\n"
    assert load_manifest_text(text, "apps/x/ci-gen.yaml").file == "apps/x/ci-gen.yaml"
