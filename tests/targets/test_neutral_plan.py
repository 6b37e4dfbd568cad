"""The plan is target-neutral: credentials by purpose (and environment), runners by role. No
Jenkins credential id, GitLab tag, GitHub label or CircleCI class reaches it; each target maps
them from its own manifest settings."""
from __future__ import annotations

import dataclasses

from ci_gen import api
from ci_gen.plan import Credential, Pipeline
from tests.targets.conftest import REPO

FOUR = (REPO / "tests" / "golden" / "four-targets" / "ci-gen.yaml").read_text(encoding="utf-8")
TARGET_VALUES = ("registry-creds", "kubeconfig-prod", "kubeconfig-staging", "registry-prod-pull",  # jenkins ids
                 "docker", "cuda", "self-hosted", "gpu.nvidia.small", "linux")  # tags, labels, classes


def test_credentials_are_purposes_not_ids() -> None:
    assert [f.name for f in dataclasses.fields(Credential)] == ["purpose", "environment"]
    plan = api.build_plan(api.load_manifest_text(FOUR))
    deploy = plan.job("deploy-production")
    assert deploy.credentials == (Credential("kubeconfig", "production"), Credential("registry", "production"))
    assert plan.job("build-image").credentials == (Credential("registry"),)


def test_no_target_setting_reaches_the_plan() -> None:
    plan = api.build_plan(api.load_manifest_text(FOUR))
    assert "runners" not in {f.name for f in dataclasses.fields(Pipeline)}
    text = repr(plan)
    assert [v for v in TARGET_VALUES if repr(v) in text] == []


def test_each_target_maps_the_roles_itself() -> None:
    files = {p: d.decode() for p, d in api.render_files(FOUR).items()}
    assert "credentialsId: 'kubeconfig-prod'" in files["Jenkinsfile"]
    assert '- "cuda"' in files[".gitlab-ci.yml"]
    assert '- "self-hosted"' in files[".github/workflows/ci-gen.yml"]
    assert 'resource_class: "gpu.nvidia.small"' in files[".circleci/config.yml"]
