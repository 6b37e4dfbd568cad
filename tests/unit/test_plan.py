"""plan.py: the target-neutral pipeline. Job order and needs per strategy, gates and approvals
per environment, schedules, infrastructure jobs before the deploy they gate, the GPU role, and
that nothing a CI system names (credential ids, runner tags) reaches it."""
from __future__ import annotations

import dataclasses
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ci_gen.plan import (Credential, Gate, Job, Pipeline, build_plan, deploy_record_path, junit_report,
                         watch_period)
from tests.unit.manifests import CANARY, TWO_ENVIRONMENTS, manifest

GATES = ("build-image", "scan-image", "scan-secrets", "sbom")  # what every deploy waits for by default


def names(plan: Pipeline) -> list[str]:
    return [j.name for j in plan.jobs]


def test_a_minimal_manifest_builds_scans_and_deploys_nothing() -> None:
    plan = build_plan(manifest())
    assert names(plan) == ["build-image", "scan-image", "scan-secrets", "sbom"]
    assert plan.stages == ("build", "scan")
    assert plan.job("build-image").needs == ()
    assert plan.job("scan-image").needs == ("build-image",)
    assert plan.job("scan-secrets").needs == ()  # reads the repository, not the image
    assert plan.crons == () and plan.schedules_by_branch == ()
    assert dict(plan.env)["CI_GEN_APP"] == "app"


@pytest.mark.parametrize("strategy", ["rolling", "blue-green", "canary"])
def test_environments_deploy_in_order_each_after_the_one_before(strategy: str) -> None:
    body = CANARY if strategy == "canary" else TWO_ENVIRONMENTS.format(strategy=strategy)
    plan = build_plan(manifest(body))
    assert names(plan)[-2:] == ["deploy-staging", "deploy-production"]
    assert plan.stages[-2:] == ("deploy-staging", "deploy-production")
    staging, production = plan.job("deploy-staging"), plan.job("deploy-production")
    assert staging.needs == GATES
    assert production.needs == GATES + ("deploy-staging",)
    for job in (staging, production):
        assert (job.step, job.action) == ("rollout", "deploy")
        assert job.command == (".ci-gen/steps/rollout", "deploy")
        assert job.rollback_on_failure and job.skip_on_schedule and not job.gpu
        assert dict(job.env)["CI_GEN_STRATEGY"] == strategy
        assert job.reports == (("deploy_record", deploy_record_path(job.environment or "")),)


def test_strategy_specific_rollout_settings_reach_only_their_strategy() -> None:
    rolling = dict(build_plan(manifest(TWO_ENVIRONMENTS.format(strategy="rolling"))).job("deploy-staging").env)
    blue_green = dict(build_plan(manifest(TWO_ENVIRONMENTS.format(strategy="blue-green"))).job("deploy-staging").env)
    canary = dict(build_plan(manifest(CANARY)).job("deploy-staging").env)
    assert not any(k.startswith(("CI_GEN_CANARY", "CI_GEN_BLUE_GREEN")) for k in rolling)
    assert blue_green["CI_GEN_BLUE_GREEN_SCALE_DOWN_DELAY"] == "10m" and "CI_GEN_CANARY_STEPS" not in blue_green
    assert canary["CI_GEN_CANARY_STEPS"] == "10 50"
    assert canary["CI_GEN_CANARY_INTERVAL"] == "5m"
    assert canary["CI_GEN_PROMETHEUS_URL"] == "http://prometheus:9090"
    assert canary["CI_GEN_MAX_ERROR_RATE"] == "0.01" and canary["CI_GEN_MAX_P90_LATENCY_MS"] == "250.0"
    assert "CI_GEN_BLUE_GREEN_SCALE_DOWN_DELAY" not in canary


def test_tests_run_in_the_built_image_and_deploys_wait_for_every_test_and_scan() -> None:
    plan = build_plan(manifest("""\
        test:
          - {name: unit, run: pytest -q}
          - {name: smoke, run: python -m app.smoke, gpu: true}
        runners: {gitlab: {gpu: [cuda]}, jenkins: {gpu: gpu}}
        """, TWO_ENVIRONMENTS.format(strategy="rolling")))
    unit, smoke = plan.job("test-unit"), plan.job("test-smoke")
    assert unit.needs == smoke.needs == ("build-image",)
    assert unit.in_built_image and not unit.gpu and smoke.gpu
    assert dict(unit.env)["CI_GEN_TEST_COMMAND"] == "pytest -q"
    assert unit.reports == (("junit", junit_report("unit")),)
    assert plan.job("deploy-staging").needs == ("build-image", "test-unit", "test-smoke", "scan-image",
                                                "scan-secrets", "sbom")


def test_scan_switches_add_and_remove_jobs() -> None:
    plan = build_plan(manifest("""\
        model: {path: model.onnx, framework: onnx}
        scan: {secrets: false, sbom: false, model: true, sign: true}
        """))
    assert names(plan) == ["build-image", "scan-image", "scan-model", "sign-image"]
    sign = plan.job("sign-image")
    assert sign.needs == ("build-image", "scan-image")
    assert sign.credentials == (Credential("registry"), Credential("cosign"))
    assert sign.skip_on_schedule and sign.id_token == "sigstore"
    assert dict(plan.job("scan-model").env) == {"CI_GEN_MODEL_SOURCE": "model.onnx"}


def test_conversion_is_a_chain_and_only_tensorrt_needs_a_gpu() -> None:
    plan = build_plan(manifest("""\
        model:
          path: models/m.pt
          framework: pytorch
          inputs: [{name: input, shape: [1, 3], dtype: float32}]
          convert:
            - {format: onnx, opset: 17}
            - {format: tensorrt, precision: fp16}
        runners: {gitlab: {gpu: [cuda]}, jenkins: {gpu: gpu}}
        """))
    onnx, trt, build = plan.job("convert-onnx"), plan.job("convert-tensorrt"), plan.job("build-image")
    assert (onnx.needs, trt.needs, build.needs) == ((), ("convert-onnx",), ("convert-tensorrt",))
    assert not onnx.gpu and trt.gpu
    assert dict(onnx.env)["CI_GEN_MODEL_SOURCE"] == "models/m.pt"
    assert dict(onnx.env)["CI_GEN_MODEL_INPUTS"] == '[{"name":"input","shape":[1,3],"dtype":"float32"}]'
    # each step reads what the one before wrote, and the image ships the last output
    assert dict(trt.env)["CI_GEN_MODEL_SOURCE"] == dict(onnx.env)["CI_GEN_CONVERT_OUTPUT"] == ".ci-gen/out/model.onnx"
    assert dict(trt.env)["CI_GEN_MODEL_FRAMEWORK"] == "onnx"
    assert dict(build.env)["CI_GEN_MODEL_FILE"] == ".ci-gen/out/model.plan"
    assert ".ci-gen/out" in onnx.artifacts and ".ci-gen/out" in build.artifacts


def test_an_unconverted_model_ships_as_it_is_and_no_model_ships_nothing() -> None:
    assert dict(build_plan(manifest("model: {path: m.onnx, framework: onnx}\n")).job("build-image").env)[
        "CI_GEN_MODEL_FILE"] == "m.onnx"
    assert dict(build_plan(manifest()).job("build-image").env)["CI_GEN_MODEL_FILE"] == ""


def test_gpu_role_marks_gpu_jobs_and_the_gpu_image_is_the_runners_own() -> None:
    plan = build_plan(manifest("""\
        test: [{name: gpu, run: nvidia-smi, gpu: true}, {name: cpu, run: "true"}]
        runners: {gitlab: {gpu: [cuda]}, jenkins: {gpu: gpu}, images: {default: tools:1, gpu: tools-gpu:1}}
        deploy:
          environments: [{name: production, kubernetes: {namespace: ml}, gpu: 2}]
        """))
    assert [j.name for j in plan.jobs if j.gpu] == ["test-gpu"]
    # a GPU per replica is the cluster's business: the deploy job itself runs anywhere
    assert not plan.job("deploy-production").gpu and dict(plan.job("deploy-production").env)["CI_GEN_GPU"] == "2"
    assert (plan.images.default, plan.images.gpu) == ("tools:1", "tools-gpu:1")


def test_approval_becomes_a_gate_with_its_submitters_and_timeout() -> None:
    plan = build_plan(manifest("""\
        deploy:
          environments:
            - {name: staging, kubernetes: {namespace: ml}}
            - name: production
              kubernetes: {namespace: ml}
              approval: {users: [alice], groups: [leads], timeout: 2h}
        """))
    assert plan.job("deploy-staging").gate is None
    assert plan.job("deploy-production").gate == Gate("Deploy app to production?", ("alice", "leads"), "2h")


def test_approval_true_lets_anyone_approve_within_the_default_timeout() -> None:
    gate = build_plan(manifest(TWO_ENVIRONMENTS.format(strategy="rolling"))).job("deploy-production").gate
    assert gate == Gate("Deploy app to production?", (), "24h")


def test_tiers_are_guessed_or_taken_as_given() -> None:
    plan = build_plan(manifest("""\
        deploy:
          environments:
            - {name: qa, kubernetes: {namespace: ml}}
            - {name: live-eu, kubernetes: {namespace: ml}}
            - {name: blue, kubernetes: {namespace: ml}, tier: production}
        """))
    assert [plan.job(f"deploy-{e}").tier for e in ("qa", "live-eu", "blue")] == ["testing", "production", "production"]


def test_a_later_environment_inherits_the_branch_rule_of_the_one_it_waits_for() -> None:
    plan = build_plan(manifest("""\
        deploy:
          environments:
            - {name: dev, kubernetes: {namespace: ml}}
            - {name: staging, kubernetes: {namespace: ml}, branch: release}
            - {name: production, kubernetes: {namespace: ml}}
        """))
    assert [plan.job(f"deploy-{e}").branch for e in ("dev", "staging", "production")] == [None, "release", "release"]


def test_each_deploy_holds_only_its_own_environments_credentials() -> None:
    plan = build_plan(manifest("""\
        jenkins: {credentials: {registry: push, kubeconfig: kube-default}}
        deploy:
          environments:
            - {name: staging, kubernetes: {namespace: ml}, credentials: {kubeconfig: kube-staging}}
            - {name: production, kubernetes: {namespace: ml}, credentials: {kubeconfig: kube-prod, registry: pull}}
        """))
    assert plan.job("deploy-staging").credentials == (Credential("kubeconfig", "staging"),)
    assert plan.job("deploy-production").credentials == (Credential("kubeconfig", "production"),
                                                         Credential("registry", "production"))
    assert dict(plan.job("deploy-production").env)["CI_GEN_PULL_SECRET"] == "app-registry"
    assert "CI_GEN_PULL_SECRET" not in dict(plan.job("deploy-staging").env)
    assert plan.job("build-image").credentials == (Credential("registry"),)


def test_verifying_signatures_binds_the_registry_to_the_deploy() -> None:
    plan = build_plan(manifest("""\
        scan: {sign: true, verify: {key: cosign.pub}}
        deploy:
          environments: [{name: production, kubernetes: {namespace: ml}}]
        """))
    deploy = plan.job("deploy-production")
    assert deploy.credentials == (Credential("kubeconfig", "production"), Credential("registry"))
    env = dict(deploy.env)
    assert env["CI_GEN_VERIFY_SIGNATURE"] == "1" and env["CI_GEN_COSIGN_PUBLIC_KEY"] == "cosign.pub"


def test_smoke_adds_a_verify_job_after_each_deploy_with_only_the_kubeconfig() -> None:
    plan = build_plan(manifest("""\
        deploy:
          smoke: curl -fsS "$CI_GEN_SERVICE_URL/healthz"
          port: 9000
          environments:
            - {name: staging, kubernetes: {namespace: ml}}
            - {name: production, kubernetes: {namespace: prod}, branch: main, credentials: {registry: pull}}
        """))
    assert names(plan)[-4:] == ["deploy-staging", "verify-staging", "deploy-production", "verify-production"]
    verify = plan.job("verify-production")
    assert verify.needs == ("deploy-production",) and verify.branch == "main" and verify.skip_on_schedule
    assert verify.credentials == (Credential("kubeconfig", "production"),)
    env = dict(verify.env)
    assert env["CI_GEN_SERVICE_URL"] == "http://app.prod.svc.cluster.local:9000"
    assert env["CI_GEN_WATCH"] == "0s" and env["CI_GEN_ENVIRONMENT"] == "production"
    # the next environment waits until the one before it is verified
    assert plan.job("deploy-production").needs[-1] == "verify-staging"


def test_schedules_collect_crons_per_branch_sorted_and_deduplicated() -> None:
    plan = build_plan(manifest("""\
        schedules:
          - {name: b, cron: "0 5 * * *", branch: main}
          - {name: a, cron: "0 3 * * *", branch: main}
          - {name: c, cron: "0 3 * * *", branch: develop}
        """))
    assert plan.crons == ("0 3 * * *", "0 5 * * *")
    assert plan.schedules_by_branch == (("develop", ("0 3 * * *",)), ("main", ("0 3 * * *", "0 5 * * *")))


INFRA = """\
deploy:
  environments:
    - {name: staging, kubernetes: {namespace: ml}}
    - {name: production, kubernetes: {namespace: ml}, approval: true}
infra:
  environments: [staging, production, shared]
  state: backend
  drift: "0 5 * * *"
"""


def test_infrastructure_applies_come_right_before_the_deploy_they_gate() -> None:
    plan = build_plan(manifest(INFRA))
    order = names(plan)
    for env in ("staging", "production"):
        apply = plan.job(f"apply-{env}")
        assert order.index(f"infra-{env}") < order.index(f"apply-{env}") == order.index(f"deploy-{env}") - 1
        assert apply.needs == (f"infra-{env}",)
        assert f"apply-{env}" in plan.job(f"deploy-{env}").needs
    # an environment with infrastructure but no deploy still gets its apply, with the plans
    assert order.index("apply-shared") < order.index("deploy-staging")
    assert all(j.skip_on_schedule for j in plan.jobs if j.name.startswith(("infra-", "apply-")))


def test_infrastructure_applies_never_run_from_a_feature_branch() -> None:
    plan = build_plan(manifest(INFRA))
    assert {plan.job(n).branch for n in ("apply-staging", "apply-production", "deploy-staging")} == {"main"}


def test_an_apply_is_gated_where_the_deploy_is_gated_or_the_tier_is_production() -> None:
    plan = build_plan(manifest(INFRA))
    assert plan.job("apply-staging").gate is None
    assert plan.job("apply-production").gate == Gate("Apply the infrastructure plan of app to production?")
    assert plan.job("apply-shared").gate is None


def test_drift_checks_run_only_on_schedule_and_their_cron_is_a_schedule() -> None:
    plan = build_plan(manifest(INFRA))
    drift = [j for j in plan.jobs if j.name.startswith("drift-")]
    assert [j.name for j in drift] == ["drift-staging", "drift-production", "drift-shared"]
    assert all(j.only_on_schedule and j.stage == "infra-drift" for j in drift)
    assert "0 5 * * *" in plan.crons


def test_nothing_a_ci_system_names_reaches_the_plan() -> None:
    """Same manifest, different runner tags, labels, classes and Jenkins credential ids: the same plan."""
    deploy = """\
        deploy:
          environments:
            - {{name: production, kubernetes: {{namespace: ml}}, credentials: {{kubeconfig: {kube}, registry: {pull}}}}}
        test: [{{name: t, run: "true", gpu: true}}]
        """
    one = manifest("""\
        runners:
          gitlab: {default: [TAG-A], gpu: [TAG-B]}
          jenkins: {default: LABEL-A, gpu: LABEL-B}
          github: {default: [LABEL-C], gpu: [LABEL-D]}
          circleci: {default: class-a, gpu: class-b}
        jenkins: {credentials: {registry: ID-A, cosign: ID-B}}
        """, deploy.format(kube="ID-C", pull="ID-D"))
    other = manifest("""\
        runners: {gitlab: {gpu: [gpu]}, jenkins: {gpu: gpu}}
        """, deploy.format(kube="kube", pull="pull"))
    assert build_plan(one) == build_plan(other)
    text = repr(build_plan(one))
    assert [v for v in ("TAG-", "LABEL-", "class-", "ID-") if v in text] == []
    assert {f.name for f in dataclasses.fields(Credential)} == {"purpose", "environment"}
    assert not {"runners", "tags", "labels", "credentials_id"} & {f.name for f in dataclasses.fields(Pipeline)}
    assert not {"tags", "label", "resource_class", "credentials_id"} & {f.name for f in dataclasses.fields(Job)}


def test_the_plan_is_deterministic_and_its_lookups_follow_its_jobs() -> None:
    body = (CANARY, "test: [{name: unit, run: pytest}]\n")
    plan = build_plan(manifest(*body))
    assert plan == build_plan(manifest(*body))
    assert plan.jobs_in("test") == (plan.job("test-unit"),)
    assert plan.jobs_in("no-such-stage") == ()
    with pytest.raises(StopIteration):
        plan.job("no-such-job")


@settings(max_examples=25, deadline=None)
@given(st.permutations([("PYTHON", "3.11"), ("CUDA", "12.4"), ("A_FLAG", "1"), ("Z", "")]))
def test_build_args_reach_the_build_in_one_order_whatever_the_manifests(args: list[tuple[str, str]]) -> None:
    mapping = ", ".join(f"{k}: {json.dumps(v)}" for k, v in args)
    base = f"version: 1\nname: app\nimage: {{name: registry.example.com/ml/app, build_args: {{{mapping}}}}}\n"
    env = dict(build_plan(manifest(base=base)).job("build-image").env)
    assert env["CI_GEN_BUILD_ARGS"] == '{"A_FLAG":"1","CUDA":"12.4","PYTHON":"3.11","Z":""}'


@pytest.mark.parametrize("watch, expected", [("15m", "15m"), ("0s", None), ("0m", None), ("00h", None),
                                             ("10s", "10s")])
def test_only_the_last_environment_is_watched_and_zero_turns_the_watch_off(watch: str, expected: str | None) -> None:
    m = manifest(TWO_ENVIRONMENTS.format(strategy="rolling"), f"monitoring: {{watch: {watch}}}\n")
    assert m.deploy is not None
    staging, production = m.deploy.environments
    assert watch_period(m, staging) is None and watch_period(m, production) == expected
    plan = build_plan(m)
    assert "verify-staging" not in names(plan)
    if expected is None:
        assert "verify-production" not in names(plan)
    else:
        verify = dict(plan.job("verify-production").env)
        assert verify["CI_GEN_WATCH"] == expected and verify["CI_GEN_SLI_FILE"] == ".ci-gen/monitoring/sli.json"


def test_without_monitoring_nothing_is_watched() -> None:
    m = manifest(TWO_ENVIRONMENTS.format(strategy="rolling"))
    assert m.deploy is not None and all(watch_period(m, e) is None for e in m.deploy.environments)
