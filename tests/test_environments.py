"""Environments are separated: own credentials, approvers that mean something, a NetworkPolicy.

Rendered files are read back (GitLab YAML parsed, the Jenkinsfile linted with Groovy's parser);
the manifest rules are checked through `load_manifest_text`, as `validate` runs them.
"""
from __future__ import annotations

import re

import pytest
from ruamel.yaml import YAML

from ci_gen import api
from ci_gen.errors import ManifestError
from ci_gen.targets.jenkins.lint import lint as lint_jenkins
from ci_gen.manifest import load_manifest_text
from ci_gen.tiers import guess_tier
from tests.emulators.jenkinsfile import validate as jenkins_server_validate

APP = """\
version: 1
name: app
image: {name: registry.example.com/ml/app}
jenkins: {credentials: {registry: push-creds, kubeconfig: kube-default}}
deploy:
  environments:
    - {name: staging, kubernetes: {namespace: ml}, credentials: {kubeconfig: kube-staging}}
    - name: production
      kubernetes: {namespace: ml}
      approval: {users: [alice, bob@example.com], groups: [ml-leads], timeout: 2h}
      branch: main
      credentials: {kubeconfig: kube-prod, registry: pull-prod}
"""


def _safe(text: str) -> object:
    return YAML(typ="safe", pure=True).load(text)


def _stage(jenkinsfile: str, name: str) -> str:
    start = jenkinsfile.index(f"stage('{name}') {{")
    depth, i = 0, jenkinsfile.index("{", start)
    for i in range(i, len(jenkinsfile)):
        depth += {"{": 1, "}": -1}.get(jenkinsfile[i], 0)
        if depth == 0:
            break
    return jenkinsfile[start:i + 1]


# -- credentials per environment ----------------------------------------------------------------

def test_each_deploy_stage_binds_its_own_environment_credentials() -> None:
    jenkinsfile = api.render_files(APP)["Jenkinsfile"].decode()
    staging, production = _stage(jenkinsfile, "deploy-staging"), _stage(jenkinsfile, "deploy-production")
    assert set(re.findall(r"credentialsId: '([^']+)'", staging)) == {"kube-staging"}
    assert set(re.findall(r"credentialsId: '([^']+)'", production)) == {"kube-prod", "pull-prod"}
    # production's Deployments pull with production's own registry account; staging's with the cluster's
    assert "CI_GEN_PULL_SECRET = 'app-registry'" in production and "CI_GEN_PULL_SECRET" not in staging
    # the build still pushes with the pipeline-wide registry credential
    assert "credentialsId: 'push-creds'" in _stage(jenkinsfile, "build-image")


def test_gitlab_deploy_jobs_carry_the_tier_their_scoped_variables_and_protection_key_on() -> None:
    gitlab = _safe(api.render_files(APP)[".gitlab-ci.yml"].decode())
    assert gitlab["deploy-staging"]["environment"] == {"name": "staging", "action": "start", "deployment_tier": "staging"}
    assert gitlab["deploy-production"]["environment"]["deployment_tier"] == "production"


def _problems(text: str) -> list[str]:
    with pytest.raises(ManifestError) as caught:
        load_manifest_text(text)
    return [str(p) for p in caught.value.problems]


def test_staging_inheriting_the_production_kubeconfig_is_rejected_with_its_location() -> None:
    shared = APP.replace(", credentials: {kubeconfig: kube-staging}}", "}").replace("kubeconfig: kube-prod, ", "")
    assert _problems(shared) == [
        "ci-gen.yaml:7:8: deploy.environments[0].name: environment 'staging' inherits jenkins.credentials.kubeconfig "
        "'kube-default', the kubeconfig credential of production environment 'production'; give it its own "
        "credentials.kubeconfig or set credentials.allow_production: true"]


def test_sharing_a_production_credential_is_allowed_only_when_said_explicitly() -> None:
    shared = APP.replace("kube-staging}", "kube-prod, allow_production: true}")
    env = load_manifest_text(shared).deploy.environments[0]  # type: ignore[union-attr]
    assert env.kubeconfig == "kube-prod"
    assert _problems(APP.replace("kube-staging}", "kube-prod}"))[0].startswith(
        "ci-gen.yaml:7:66: deploy.environments[0].credentials.kubeconfig: environment 'staging' uses 'kube-prod'")


def test_an_explicit_tier_decides_what_production_is() -> None:
    # 'eu' is not a production name, but the tier says it is: its credential is production's
    text = APP.replace("name: production", "name: eu\n      tier: production").replace("kube-staging", "kube-prod")
    assert "the kubeconfig credential of production environment 'eu'" in _problems(text)[0]
    # and a gitlab-only manifest has no Jenkins ids to compare
    assert load_manifest_text(text.replace("version: 1\n", "version: 1\ntargets: [gitlab]\n")).deploy is not None


@pytest.mark.parametrize("name,tier", [("production", "production"), ("prod-eu", "production"), ("live", "production"),
                                       ("staging", "staging"), ("preprod", "staging"), ("qa", "testing"),
                                       ("review-42", "development"), ("edge", "other")])
def test_tiers_are_guessed_from_names_as_gitlab_does(name: str, tier: str) -> None:
    assert guess_tier(name) == tier


# -- approvals -----------------------------------------------------------------------------------

def test_jenkins_input_names_its_submitters_and_aborts_after_the_timeout() -> None:
    jenkinsfile = api.render_files(APP)["Jenkinsfile"].decode()
    production = _stage(jenkinsfile, "deploy-production")
    assert "submitter 'alice,bob@example.com,ml-leads'" in production
    assert "timeout(time: 2, unit: 'HOURS')" in production
    bare = _stage(api.render_files(APP.replace(
        "approval: {users: [alice, bob@example.com], groups: [ml-leads], timeout: 2h}", "approval: true"))["Jenkinsfile"]
        .decode(), "deploy-production")
    assert "submitter" not in bare and "timeout(time: 24, unit: 'HOURS')" in bare  # the documented default


def test_waiting_for_approval_holds_no_executor() -> None:
    jenkinsfile = api.render_files(APP)["Jenkinsfile"].decode()
    assert re.search(r"^pipeline \{\n  agent none\n", jenkinsfile, re.M)
    leaves = re.findall(r"stage\('([^']+)'\) \{\n(\s+)(\w+)", jenkinsfile)
    assert leaves and all(first == "agent" for _, _, first in leaves if first != "stages" and first != "parallel")
    assert jenkins_server_validate(jenkinsfile) == []
    result = lint_jenkins({"Jenkinsfile": jenkinsfile})[0]
    if result.skipped:
        pytest.skip(result.skipped)
    assert result.ok, result.problems


def test_more_than_one_approval_is_gitlab_only() -> None:
    text = APP.replace("timeout: 2h}", "timeout: 2h, required: 2}")
    assert _problems(text) == ["ci-gen.yaml:10:84: deploy.environments[1].approval.required: Jenkins' input takes "
                               "one approval, not 2; use required: 1 or targets: [gitlab]"]
    manifest = load_manifest_text(text.replace("version: 1\n", "version: 1\ntargets: [gitlab]\n"))
    approval = manifest.deploy.environments[1].approval  # type: ignore[union-attr]
    assert approval is not None and approval.required == 2


OFFLINE_LINT_CASES = [
    ("submitter 'alice;bob'", "input submitter 'alice;bob' is not a comma-separated list of user ids or group names "
                              "(bad entry: 'alice;bob')"),
    ("submitter 'alice,,bob'", "input submitter 'alice,,bob' is not a comma-separated list of user ids or group names "
                               "(bad entry: '')"),
    ("submitter \"${env.APPROVERS}\"", "input submitter must be a string literal"),
    ("approvers 'alice'", "'approvers' is not an input parameter (message, id, ok, submitter, submitterParameter, "
                          "parameters)"),
]


@pytest.mark.parametrize("line,message", OFFLINE_LINT_CASES, ids=[c[0] for c in OFFLINE_LINT_CASES])
def test_offline_lint_rejects_what_jenkins_input_cannot_read(line: str, message: str) -> None:
    jenkinsfile = api.render_files(APP)["Jenkinsfile"].decode()
    bad = jenkinsfile.replace("submitter 'alice,bob@example.com,ml-leads'", line)
    row = bad[:bad.index(line)].count("\n") + 1
    result = lint_jenkins({"Jenkinsfile": bad})[0]
    if result.skipped:
        pytest.skip(result.skipped)
    assert result.problems == (f"Jenkinsfile:{row}:9: {message}",)


def test_offline_lint_rejects_a_stage_without_agent_under_agent_none_and_a_bad_timeout_unit() -> None:
    jenkinsfile = api.render_files(APP)["Jenkinsfile"].decode()
    staging = _stage(jenkinsfile, "deploy-staging")
    bad = jenkinsfile.replace(staging, staging.replace("      agent any\n", "", 1))
    bad = bad.replace("unit: 'HOURS'", "unit: 'FORTNIGHTS'")
    result = lint_jenkins({"Jenkinsfile": bad})[0]
    if result.skipped:
        pytest.skip(result.skipped)
    row = bad[:bad.index("stage('deploy-staging')")].count("\n") + 1
    timeout_row = bad[:bad.index("timeout(time: 2")].count("\n") + 1
    assert sorted(result.problems) == sorted((
        f"Jenkinsfile:{row}:5: stage runs steps under 'agent none' without an agent of its own",
        f"Jenkinsfile:{timeout_row}:9: timeout unit must be one of NANOSECONDS, MICROSECONDS, MILLISECONDS, SECONDS, "
        "MINUTES, HOURS, DAYS"))


# -- NetworkPolicy -------------------------------------------------------------------------------

def test_default_network_policy_admits_only_the_port_from_ingress_and_prometheus() -> None:
    files = api.render_files(APP)
    policy = _safe(files[".ci-gen/k8s/production/networkpolicy.yaml"].decode())
    assert policy["kind"] == "NetworkPolicy" and policy["metadata"]["namespace"] == "ml"
    assert policy["spec"]["podSelector"] == {"matchLabels": {"app": "app"}}
    assert policy["spec"]["policyTypes"] == ["Ingress"]
    [rule] = policy["spec"]["ingress"]
    assert rule["ports"] == [{"protocol": "TCP", "port": 8080}]
    assert [s["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"] for s in rule["from"]] == \
        ["ingress-nginx", "monitoring"]


def test_network_policy_is_configurable() -> None:
    text = APP.replace("deploy:\n", "deploy:\n  port: 9000\n  network_policy: {ingress_namespaces: [traefik], "
                                    "prometheus_namespaces: [], same_namespace: true}\n")
    [rule] = _safe(api.render_files(text)[".ci-gen/k8s/staging/networkpolicy.yaml"].decode())["spec"]["ingress"]
    assert rule == {"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "traefik"}}},
                             {"podSelector": {}}], "ports": [{"protocol": "TCP", "port": 9000}]}
    # no source at all means no ingress, never an empty `from` (which Kubernetes reads as "anyone")
    closed = APP.replace("deploy:\n", "deploy:\n  network_policy: {ingress_namespaces: [], prometheus_namespaces: []}\n")
    policy = _safe(api.render_files(closed)[".ci-gen/k8s/staging/networkpolicy.yaml"].decode())
    assert policy["spec"]["ingress"] == []
    off = APP.replace("deploy:\n", "deploy:\n  network_policy: {enabled: false}\n")
    assert not [p for p in api.render_files(off) if p.endswith("networkpolicy.yaml")]


def test_an_approval_timeout_must_leave_time_to_deploy() -> None:
    # the Jenkins stage timeout bounds waiting and rolling out: 5m cannot hold a 10m rollout
    assert _problems(APP.replace("timeout: 2h}", "timeout: 5m}")) == [
        "ci-gen.yaml:10:71: deploy.environments[1].approval.timeout: 5m leaves no time to deploy after approval: "
        "the Jenkins stage timeout also bounds the rollout, which may take 600s (deploy.timeout, canary steps)"]
    canary = APP.replace("deploy:\n", "deploy:\n  strategy: canary\n  canary: {steps: [10, 50], interval: 5m, "
                                      "analysis: {prometheus: 'http://prom:9090'}}\n")
    assert "which may take 2400s" in _problems(canary.replace("timeout: 2h}", "timeout: 40m}"))[0]
    assert load_manifest_text(canary.replace("timeout: 2h}", "timeout: 41m}")).deploy is not None
