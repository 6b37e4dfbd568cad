"""targets/jenkins: the renderer (runner roles to agent labels, credential purposes to credential
ids, stage groups, input gates, triggers), Groovy string escaping of hostile values, and the
offline lint (Groovy's parser in one JVM start for every file)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from ci_gen.plan import build_plan
from ci_gen.targets.jenkins import lint, render
from ci_gen.targets.jenkins.lint import find_java_home
from ci_gen.templating import groovy_str
from tests.tools import require
from tests.unit.manifests import manifest

ROLES = """\
targets: [jenkins]
test: [{name: gpu, run: nvidia-smi, gpu: true}, {name: cpu, run: pytest}]
runners: {jenkins: {default: linux, gpu: cuda-node}}
"""
CREDENTIALS = """\
targets: [jenkins]
jenkins: {credentials: {registry: push-creds, kubeconfig: kube-default, cosign: cosign-key}}
deploy:
  environments:
    - {name: staging, kubernetes: {namespace: ml}}
    - name: production
      kubernetes: {namespace: ml}
      approval: {users: [alice], groups: [ml-leads], timeout: 90m}
      branch: main
      credentials: {kubeconfig: kube-prod, registry: pull-prod}
"""
HOSTILE = "it's ${env.SECRET} \"q\" \\ {{x}} $HOME \u00e9\U0001F600 \t end"
HOSTILE_ID = HOSTILE.replace("\t", "")  # credential ids hold no control characters


def jenkinsfile(*bodies: str) -> str:
    m = manifest(*bodies)
    return str(render(build_plan(m), m))


def stage(text: str, name: str) -> str:
    """The text of `stage('name') { ... }`, braces balanced."""
    start = text.index(f"stage('{name}') {{")
    depth = 0
    for i in range(text.index("{", start), len(text)):
        depth += {"{": 1, "}": -1}.get(text[i], 0)
        if depth == 0:
            return text[start:i + 1]
    raise AssertionError(f"stage {name} is not closed")


def credential_ids(text: str) -> list[str]:
    return re.findall(r"credentialsId: '([^']+)'", text)


def test_runner_roles_become_agent_labels_per_stage() -> None:
    text = jenkinsfile(ROLES)
    assert text.count("agent none") == 1  # a stage waiting for approval holds no executor
    assert "agent { label 'cuda-node' }" in stage(text, "test-gpu")
    assert "agent { label 'linux' }" in stage(text, "test-cpu")
    assert "agent { label 'linux' }" in stage(text, "build-image")


def test_toolbox_images_run_as_docker_agents_on_their_label() -> None:
    images = "gpu: cuda-node}, images: {default: 'tools:1', gpu: 'tools-gpu:1'}"
    text = jenkinsfile(ROLES.replace("gpu: cuda-node}", images))
    assert "docker {\n              image 'tools-gpu:1'\n              label 'cuda-node'" in stage(text, "test-gpu")
    assert "image 'tools:1'" in stage(text, "build-image")


def test_no_label_means_any_agent() -> None:
    assert "agent any" in stage(jenkinsfile("targets: [jenkins]\n"), "build-image")


def test_credential_purposes_bind_the_manifests_credential_ids() -> None:
    text = jenkinsfile(CREDENTIALS, "scan: {sign: true, verify: {key: cosign.pub}}\n")
    assert credential_ids(stage(text, "build-image")) == ["push-creds"]
    assert "usernamePassword(credentialsId: 'push-creds', usernameVariable: 'CI_GEN_REGISTRY_USER', " \
           "passwordVariable: 'CI_GEN_REGISTRY_PASSWORD')" in text
    assert credential_ids(stage(text, "sign-image")) == ["push-creds", "cosign-key"]
    assert "file(credentialsId: 'cosign-key', variable: 'COSIGN_KEY')" in stage(text, "sign-image")
    # checking the signature before a deploy logs in to the registry: the pipeline's account,
    # unless the environment names its own
    assert credential_ids(stage(text, "deploy-staging"))[:2] == ["kube-default", "push-creds"]
    assert credential_ids(stage(text, "deploy-production"))[:2] == ["kube-prod", "pull-prod"]


def test_each_environment_binds_its_own_ids_and_its_rollback_the_same() -> None:
    text = jenkinsfile(CREDENTIALS)
    staging, production = stage(text, "deploy-staging"), stage(text, "deploy-production")
    assert credential_ids(staging) == ["kube-default", "kube-default"]  # deploy, and rollback in post
    assert credential_ids(production) == ["kube-prod", "pull-prod", "kube-prod", "pull-prod"]
    assert "post {\n        failure {" in production and "sh '.ci-gen/steps/rollout rollback'" in production


def test_a_purpose_without_an_id_is_left_to_the_agent() -> None:
    text = jenkinsfile("targets: [jenkins]\n")
    assert "withCredentials" not in text


def test_stages_of_independent_jobs_run_in_parallel_and_a_chain_in_sequence() -> None:
    text = jenkinsfile(ROLES, """\
        model:
          path: m.pt
          framework: pytorch
          inputs: [{name: x, shape: [1], dtype: float32}]
          convert: [{format: onnx}, {format: tensorrt}]
        """)
    assert "stage('test') {\n      parallel {" in text
    assert "stage('convert') {\n      stages {" in text  # tensorrt needs onnx: one after the other
    assert "stage('build') {\n      stages {\n        stage('build-image')" in text
    order = [text.index(f"stage('{n}')") for n in ("convert-onnx", "convert-tensorrt", "build-image", "test-gpu")]
    assert order == sorted(order)


def test_a_gate_is_an_input_with_its_submitters_and_a_timeout() -> None:
    production = stage(jenkinsfile(CREDENTIALS), "deploy-production")
    assert ("input {\n        message 'Deploy app to production?'\n        ok 'Deploy'\n"
            "        submitter 'alice,ml-leads'") in production
    assert "timeout(time: 90, unit: 'MINUTES')" in production
    assert "beforeInput true" in production and "branch 'main'" in production
    assert "input {" not in stage(jenkinsfile(CREDENTIALS), "deploy-staging")


def test_approval_true_lets_anyone_approve_for_a_day() -> None:
    text = jenkinsfile("targets: [jenkins]\n", """\
        deploy:
          environments: [{name: production, kubernetes: {namespace: ml}, approval: true}]
        """)
    production = stage(text, "deploy-production")
    assert "submitter" not in production and "timeout(time: 24, unit: 'HOURS')" in production


def test_schedules_are_one_cron_trigger_and_scheduled_builds_skip_deploys() -> None:
    text = jenkinsfile(CREDENTIALS, """\
        schedules:
          - {name: a, cron: "H 3 * * *", branch: main}
          - {name: b, cron: "0 5 * * 1", branch: main}
        """)
    assert "triggers {\n    cron('0 5 * * 1\\nH 3 * * *')\n  }" in text
    assert "not { triggeredBy 'TimerTrigger' }" in stage(text, "deploy-staging")


def test_a_multibranch_project_runs_each_schedule_on_its_own_branch() -> None:
    schedules = """\
        schedules:
          - {name: a, cron: "H 3 * * *", branch: main}
          - {name: b, cron: "H 4 * * *", branch: develop}
        """
    plain = jenkinsfile(CREDENTIALS, schedules)
    assert "cron('H 3 * * *\\nH 4 * * *')" in plain and "BRANCH_NAME" not in plain
    multibranch = jenkinsfile(CREDENTIALS.replace("jenkins: {", "jenkins: {kind: multibranch, "), schedules)
    assert "cron(env.BRANCH_NAME == 'develop' ? 'H 4 * * *' : env.BRANCH_NAME == 'main' ? 'H 3 * * *' : '')" \
        in multibranch


def test_a_hostile_value_is_one_single_quoted_groovy_string() -> None:
    text = jenkinsfile(f"variables: {{V: {quoted(HOSTILE)}}}\n",
                       CREDENTIALS.replace("push-creds", quoted(HOSTILE_ID)))
    assert f"V = {groovy_str(HOSTILE)}" in text
    assert f"usernamePassword(credentialsId: {groovy_str(HOSTILE_ID)}," in text
    # single quotes: Groovy interpolates nothing; no raw quote, newline or non-ASCII survives
    literal = str(groovy_str(HOSTILE))
    assert literal.isascii() and "\n" not in literal and "\t" not in literal
    assert re.fullmatch(r"'(?:[^'\\]|\\.)*'", literal)
    assert unescape(literal) == HOSTILE


def quoted(value: str) -> str:
    import json

    return json.dumps(value, ensure_ascii=False)


def unescape(literal: str) -> str:
    """What Groovy reads from a single-quoted literal (the escapes groovy_str writes)."""
    body = literal[1:-1]
    simple = {"\\": "\\", "'": "'", "n": "\n", "r": "\r", "t": "\t"}
    out, i = [], 0
    while i < len(body):
        if body[i] == "\\" and body[i + 1] == "u":
            out.append(chr(int(body[i + 2:i + 6], 16)))
            i += 6
        elif body[i] == "\\":
            out.append(simple[body[i + 1]])
            i += 2
        else:
            out.append(body[i])
            i += 1
    return "".join(out).encode("utf-16", "surrogatepass").decode("utf-16")


# -- offline lint ---------------------------------------------------------------------------------

def test_lint_parses_a_hostile_rendered_file_and_rejects_a_broken_one_in_one_jvm() -> None:
    require("groovy", "apt-get install groovy default-jdk-headless")
    good = jenkinsfile(f"variables: {{V: {quoted(HOSTILE)}}}\n", CREDENTIALS.replace("push-creds", quoted(HOSTILE_ID)))
    broken = good.replace("stage('deploy-staging') {", "stage('deploy-staging') {{", 1)
    no_agent = "pipeline {\n  agent none\n  stages {\n    stage('a') {\n      steps { sh 'true' }\n    }\n  }\n}\n"
    results = {r.file: r for r in lint({"good/Jenkinsfile": good, "broken/Jenkinsfile": broken,
                                        "no-agent/Jenkinsfile": no_agent})}
    assert results["good/Jenkinsfile"].ok and results["good/Jenkinsfile"].skipped is None
    assert any("syntax error" in p for p in results["broken/Jenkinsfile"].problems), results["broken/Jenkinsfile"]
    assert all(p.startswith("broken/Jenkinsfile:") for p in results["broken/Jenkinsfile"].problems)
    assert results["no-agent/Jenkinsfile"].problems == (
        "no-agent/Jenkinsfile:4:5: stage runs steps under 'agent none' without an agent of its own",)


def test_lint_without_groovy_skips_every_file_and_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch,
                                                                          tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty folder: no groovy on this PATH
    results = lint({"a/Jenkinsfile": "pipeline {}", "b/Jenkinsfile": "x"})
    assert [r.file for r in results] == ["a/Jenkinsfile", "b/Jenkinsfile"]
    assert all(r.ok and r.skipped and "apt-get install groovy" in r.skipped for r in results)


def test_java_home_from_the_environment_wins(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("JAVA_HOME", str(tmp_path))
    assert find_java_home() == str(tmp_path)
    monkeypatch.delenv("JAVA_HOME")
    found = find_java_home()
    assert found is None or (Path(found) / "bin" / "java").exists()


def test_a_verify_stage_binds_its_environments_kubeconfig_only() -> None:
    text = jenkinsfile(CREDENTIALS.replace("deploy:\n", "deploy:\n  smoke: curl -fsS \"$CI_GEN_SERVICE_URL/healthz\"\n"))
    assert credential_ids(stage(text, "verify-production")) == ["kube-prod"]
    assert credential_ids(stage(text, "verify-staging")) == ["kube-default"]
