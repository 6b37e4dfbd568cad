"""Both targets publish the same evidence and check the same signature, read back from the files.

GitLab's `artifacts:reports` and Jenkins' stage `post { always }` steps must name the same JUnit
file per test job; the image scan shows in each system's own view; every deploy job carries the
same signature check. Both files also pass the offline lint (GitLab's CI schema, Groovy + the
declarative rules).
"""
from __future__ import annotations

import re

import pytest
from ruamel.yaml import YAML

from ci_gen.targets.gitlab.lint import lint_file as lint_gitlab
from ci_gen.targets.jenkins.lint import lint as lint_jenkins
from ci_gen.manifest import load_manifest_text
from ci_gen.generated import render_manifest

MANIFEST = """\
version: 1
name: evidence
image: {name: registry.example.com/ml/evidence}
test:
  - {name: unit, run: pytest -q tests/unit}
  - {name: go, run: "go test ./... # it's not pytest"}
scan:
  sign: true
  verify: {identity_regexp: "^https://gitlab.example.com/ml/evidence//.*'$", issuer: "https://gitlab.example.com"}
deploy:
  environments:
    - {name: staging, kubernetes: {namespace: ml}, credentials: {kubeconfig: kube-staging}}
    - {name: production, kubernetes: {namespace: ml}, approval: true, branch: main}
jenkins: {credentials: {registry: reg-creds, kubeconfig: kube-creds}}
"""
SIGNATURE_VARS = ("CI_GEN_VERIFY_SIGNATURE", "CI_GEN_COSIGN_PUBLIC_KEY", "CI_GEN_COSIGN_IDENTITY",
                  "CI_GEN_COSIGN_IDENTITY_REGEXP", "CI_GEN_COSIGN_OIDC_ISSUER")


@pytest.fixture(scope="module")
def rendered() -> tuple[str, str]:
    files = render_manifest(load_manifest_text(MANIFEST), MANIFEST.encode()).files
    return files[".gitlab-ci.yml"].decode(), files["Jenkinsfile"].decode()


def jenkins_stages(text: str) -> dict[str, str]:
    """Stage name -> its text up to the next stage header."""
    parts = re.split(r"^\s*stage\('([^']+)'\) \{$", text, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2]))


def groovy_env(stage: str) -> dict[str, str]:
    block = stage.split("environment {", 1)[1].split("\n          }", 1)[0] if "environment {" in stage else ""
    values = {}
    for m in re.finditer(r"^\s*([A-Z_][A-Z0-9_]*) = '((?:[^'\\]|\\.)*)'$", block, re.M):
        values[m.group(1)] = re.sub(r"\\(.)", r"\1", m.group(2))
    return values


def test_junit_reports_per_test_job_on_both_sides(rendered) -> None:
    gitlab_text, jenkins_text = rendered
    gitlab = YAML(typ="safe", pure=True).load(gitlab_text)
    stages = jenkins_stages(jenkins_text)
    for name in ("unit", "go"):
        path = f".ci-gen/reports/junit-{name}.xml"
        job = gitlab[f"test-{name}"]
        assert job["artifacts"]["reports"]["junit"] == path and job["artifacts"]["when"] == "always"
        assert job["variables"]["CI_GEN_TEST_JUNIT"] == path
        post = stages[f"test-{name}"].split("post {", 1)[1]
        assert f"junit testResults: '{path}', allowEmptyResults: true" in post.split("always {", 1)[1]
        assert groovy_env(stages[f"test-{name}"])["CI_GEN_TEST_JUNIT"] == path


def test_scan_results_in_each_systems_view(rendered) -> None:
    gitlab_text, jenkins_text = rendered
    gitlab = YAML(typ="safe", pure=True).load(gitlab_text)
    reports = gitlab["scan-image"]["artifacts"]["reports"]
    assert reports["container_scanning"] == ".ci-gen/reports/gl-container-scanning-report.json"
    scan = jenkins_stages(jenkins_text)["scan-image"]
    assert "recordIssues enabledForFailure: true, tool: sarif(pattern: '.ci-gen/reports/trivy.sarif'" in scan


def test_every_deploy_checks_the_same_signature_on_both_sides(rendered) -> None:
    gitlab_text, jenkins_text = rendered
    gitlab = YAML(typ="safe", pure=True).load(gitlab_text)
    stages = jenkins_stages(jenkins_text)
    expected = {"CI_GEN_VERIFY_SIGNATURE": "1",
                "CI_GEN_COSIGN_IDENTITY_REGEXP": "^https://gitlab.example.com/ml/evidence//.*'$",
                "CI_GEN_COSIGN_OIDC_ISSUER": "https://gitlab.example.com"}
    for env in ("staging", "production"):
        variables = gitlab[f"deploy-{env}"]["variables"]
        gitlab_sig = {k: (v["value"] if isinstance(v, dict) else v) for k, v in variables.items() if k in SIGNATURE_VARS}
        jenkins_sig = {k: v for k, v in groovy_env(stages[f"deploy-{env}"]).items() if k in SIGNATURE_VARS}
        assert gitlab_sig == jenkins_sig == expected
        # cosign reads the signature from the registry: the deploy binds the registry credential
        assert ("usernamePassword(credentialsId: 'reg-creds', usernameVariable: 'CI_GEN_REGISTRY_USER', "
                "passwordVariable: 'CI_GEN_REGISTRY_PASSWORD')") in stages[f"deploy-{env}"]


def test_the_gitlab_sign_job_gets_a_sigstore_id_token(rendered) -> None:
    # keyless cosign signs with the job's OIDC identity, which GitLab hands out only on request
    gitlab = YAML(typ="safe", pure=True).load(rendered[0])
    assert gitlab["sign-image"]["id_tokens"] == {"SIGSTORE_ID_TOKEN": {"aud": "sigstore"}}
    assert not [name for name, job in gitlab.items() if isinstance(job, dict) and "id_tokens" in job
                and name != "sign-image"]


def test_both_files_pass_the_offline_lint(rendered) -> None:
    gitlab_text, jenkins_text = rendered
    assert lint_gitlab(".gitlab-ci.yml", gitlab_text).problems == ()
    result = lint_jenkins({"Jenkinsfile": jenkins_text})[0]
    if result.skipped:
        pytest.skip(result.skipped)
    assert result.problems == ()
