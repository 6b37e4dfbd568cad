"""Both targets carry the same jobs, in the same order, with the same gates and branch rules.

Read back from the rendered files themselves (GitLab YAML parsed, Jenkinsfile scanned), so the
test checks the outputs, not the renderers' inputs.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from ci_gen.manifest import load_manifest
from ci_gen.generated import render_manifest

REPO = Path(__file__).resolve().parents[1]
CASES = sorted(p for p in list((REPO / "examples").glob("*/ci-gen.yaml")) + list((REPO / "tests" / "golden").glob("*/ci-gen.yaml")))


def gitlab_jobs(text: str) -> list[tuple[str, bool, str | None]]:
    data = YAML(typ="safe", pure=True).load(text)
    jobs = []
    for name, job in data.items():
        if not isinstance(job, dict) or "script" not in job or name.startswith("rollback-"):
            continue
        rules = job.get("rules", [])
        gated = any(r.get("when") == "manual" for r in rules)
        branch = next((m.group(1) for r in rules if "if" in r
                       for m in [re.search(r'\$CI_COMMIT_BRANCH == "([^"]+)"', r["if"])] if m), None)
        jobs.append((name, gated, branch))
    return jobs


def jenkins_jobs(text: str) -> list[tuple[str, bool, str | None]]:
    jobs: list[tuple[str, bool, str | None]] = []
    current, gated, branch = None, False, None
    for line in text.splitlines():
        stripped = line.strip()
        if m := re.match(r"stage\('([^']+)'\) \{", stripped):
            current, gated, branch = m.group(1), False, None
        elif stripped.startswith("input {"):
            gated = True
        elif m := re.match(r"branch '([^']+)'", stripped):
            branch = m.group(1)
        elif stripped == "steps {" and current is not None:
            jobs.append((current, gated, branch))
            current = None
    return jobs


@pytest.mark.parametrize("case", CASES, ids=[p.parent.name for p in CASES])
def test_same_jobs_order_gates_and_branches(case: Path) -> None:
    manifest = load_manifest(case)
    if not {"gitlab", "jenkins"} <= set(manifest.targets):
        pytest.skip("single-target manifest")
    files = render_manifest(manifest, case.read_bytes()).files
    gitlab = gitlab_jobs(files[".gitlab-ci.yml"].decode())
    jenkins = jenkins_jobs(files["Jenkinsfile"].decode())
    assert gitlab, "rendered at least one job"
    assert gitlab == jenkins


def test_rollback_on_both_sides() -> None:
    case = REPO / "examples" / "fraud-detector" / "ci-gen.yaml"
    files = render_manifest(load_manifest(case), case.read_bytes()).files
    gitlab = YAML(typ="safe", pure=True).load(files[".gitlab-ci.yml"].decode())
    for env in ("staging", "production"):
        job = gitlab[f"rollback-{env}"]
        assert job["needs"] == [f"deploy-{env}"] and job["script"] == [".ci-gen/steps/rollout rollback"]
        assert job["rules"][-1]["when"] in ("on_failure", "never")
    assert files["Jenkinsfile"].decode().count("sh '.ci-gen/steps/rollout rollback'") == 2


def test_later_environments_inherit_the_branch_rule() -> None:
    # production waits for staging, so it can only run where staging runs: on main.
    from ci_gen.manifest import load_manifest_text

    text = """\
version: 1
name: inherit
image: {name: registry.example.com/ml/inherit}
deploy:
  environments:
    - {name: staging, kubernetes: {namespace: ml}, branch: main}
    - {name: production, kubernetes: {namespace: ml}, approval: true}
"""
    files = render_manifest(load_manifest_text(text), text.encode()).files
    deploys = [job for job in gitlab_jobs(files[".gitlab-ci.yml"].decode()) if job[0].startswith("deploy-")]
    assert deploys == [("deploy-staging", False, "main"), ("deploy-production", True, "main")]
    assert [j for j in jenkins_jobs(files["Jenkinsfile"].decode()) if j[0].startswith("deploy-")] == deploys


@pytest.mark.parametrize("case", CASES, ids=[p.parent.name for p in CASES])
def test_the_same_people_approve_on_both_sides(case: Path) -> None:
    # Jenkins reads approvers from the Jenkinsfile's input; GitLab from the protected environment
    # sync creates. Both come from the one plan: the same environments, the same names.
    from ci_gen.targets.gitlab.server_environments import wanted_protections

    manifest = load_manifest(case)
    jenkinsfile = render_manifest(manifest, case.read_bytes()).files.get("Jenkinsfile", b"").decode()
    gated = dict(re.findall(r"stage\('deploy-([^']+)'\) \{(?:(?!stage\().)*?input \{(.*?)\n\s*\}", jenkinsfile, re.S))
    jenkins = {env: tuple(m.group(1).split(",")) if (m := re.search(r"submitter '([^']*)'", body)) else ()
               for env, body in gated.items()}
    gitlab = {w.name: w.users + w.groups for w in wanted_protections(manifest)}
    if "jenkins" in manifest.targets:
        assert jenkins == gitlab
    assert all(w.required >= 1 for w in wanted_protections(manifest))


# -- GitHub Actions and CircleCI: the same jobs, order, branches, gates and job environment ----

def github_jobs(text: str) -> list[tuple[str, str | None, str | None]]:
    """(name, environment named, branch) per job. A GitHub gate is the environment's required
    reviewers, which live on the repository: the workflow can only show that a gated job names
    an environment (an ungated deploy names one too), so parity checks gated => named."""
    data = YAML(typ="safe", pure=True).load(text)
    jobs = []
    for name, job in data["jobs"].items():
        if name.startswith("rollback-"):
            continue
        m = re.search(r"github\.ref == 'refs/heads/([^']+)'", job.get("if", ""))
        jobs.append((name, job.get("environment", {}).get("name"), m.group(1) if m else None))
    return jobs


def circleci_jobs(text: str) -> list[tuple[str, bool, str | None]]:
    entries = YAML(typ="safe", pure=True).load(text)["workflows"]["ci-gen"]["jobs"]
    jobs = []
    for entry in entries:
        name, settings = next(iter(entry.items())) if isinstance(entry, dict) else (entry, {})
        if settings.get("type") == "approval":
            continue
        gated = f"approve-{name}" in settings.get("requires", [])
        only = settings.get("filters", {}).get("branches", {}).get("only")
        jobs.append((name, gated, only[0] if only else None))
    return jobs


def job_env(text: str, path: str) -> dict[str, dict[str, str]]:
    """Each job's own CI_GEN_* values (pipeline-wide ones and runner plumbing left out)."""
    data = YAML(typ="safe", pure=True).load(text)
    pipeline_wide = {"CI_GEN_APP", "CI_GEN_VERSION", "CI_GEN_OUT_DIR", "CI_GEN_REPORT_DIR", "CI_GEN_TEST_IN_IMAGE"}
    if path == ".gitlab-ci.yml":
        jobs = {n: j.get("variables", {}) for n, j in data.items() if isinstance(j, dict) and "script" in j}
    elif path == ".circleci/config.yml":
        jobs = {n: j.get("environment", {}) for n, j in data["jobs"].items()}
    else:
        jobs = {n: j.get("env", {}) for n, j in data["jobs"].items()}
    return {n: {k: (v["value"] if isinstance(v, dict) else v) for k, v in env.items()
                if k.startswith("CI_GEN_") and k not in pipeline_wide}
            for n, env in jobs.items() if not n.startswith("rollback-")}


FOUR = sorted(c for c in CASES if {"github", "circleci"} <= set(load_manifest(c).targets))


def test_some_case_renders_all_four_targets() -> None:
    assert FOUR, "an example or golden case names all four targets"


def assert_four_targets_agree(files: dict[str, str]) -> None:
    gitlab = gitlab_jobs(files[".gitlab-ci.yml"])
    assert gitlab == jenkins_jobs(files["Jenkinsfile"])
    assert gitlab == circleci_jobs(files[".circleci/config.yml"])
    github = github_jobs(files[".github/workflows/ci-gen.yml"])
    assert [(n, b) for n, _, b in gitlab] == [(n, b) for n, _, b in github]
    unguarded = [n for (n, gated, _), (_, environment, _) in zip(gitlab, github) if gated and environment is None]
    assert unguarded == [], "gated jobs no GitHub reviewer can stop"
    # GitLab's gate is the manual job plus the environment's protection; CircleCI's the approval
    # plus the restricted context: each gated job names its environment on every side.
    gitlab_data = YAML(typ="safe", pure=True).load(files[".gitlab-ci.yml"])
    circleci = {next(iter(e)): next(iter(e.values())) for e in
                YAML(typ="safe", pure=True).load(files[".circleci/config.yml"])["workflows"]["ci-gen"]["jobs"]
                if isinstance(e, dict)}
    named = {n: (gitlab_data[n].get("environment", {}).get("name"), environment,
                 (circleci[n].get("context") or [None])[0])
             for (n, gated, _), (_, environment, _) in zip(gitlab, github) if gated}
    assert {n: (e, e, f"ci-gen-{e}") for n, (e, _, _) in named.items() if e} == named
    envs = {p: job_env(files[p], p) for p in (".gitlab-ci.yml", ".github/workflows/ci-gen.yml", ".circleci/config.yml")}
    assert envs[".gitlab-ci.yml"] == envs[".github/workflows/ci-gen.yml"] == envs[".circleci/config.yml"]


@pytest.mark.parametrize("case", FOUR, ids=[p.parent.name for p in FOUR])
def test_four_targets_same_jobs_order_gates_branches_and_env(case: Path) -> None:
    files = {p: d.decode() for p, d in render_manifest(load_manifest(case), case.read_bytes()).files.items()}
    assert_four_targets_agree(files)


def test_four_targets_agree_on_gated_infrastructure_applies() -> None:
    # No example or golden case renders `infra:` for all four targets; the gated apply is where
    # GitHub once had no gate at all.
    from ci_gen.manifest import load_manifest_text

    text = """\
version: 1
name: infra4
image: {name: registry.example.com/ml/infra4}
targets: [gitlab, jenkins, github, circleci]
infra: {environments: [staging, production], state: backend}
deploy:
  smoke: curl -fsS "$CI_GEN_SERVICE_URL/healthz"
  environments:
    - {name: staging, kubernetes: {namespace: ml}}
    - {name: production, kubernetes: {namespace: ml}, approval: true, branch: main}
"""
    files = {p: d.decode() for p, d in render_manifest(load_manifest_text(text), text.encode()).files.items()}
    gated = [n for n, g, _ in gitlab_jobs(files[".gitlab-ci.yml"]) if g]
    assert gated == ["apply-production", "deploy-production"]
    assert_four_targets_agree(files)


@pytest.mark.parametrize("case", FOUR, ids=[p.parent.name for p in FOUR])
def test_gated_environments_are_github_environments_and_circleci_approvals(case: Path) -> None:
    manifest = load_manifest(case)
    files = render_manifest(manifest, case.read_bytes()).files
    workflow = YAML(typ="safe", pure=True).load(files[".github/workflows/ci-gen.yml"].decode())
    assert manifest.deploy is not None
    for env in manifest.deploy.environments:
        assert workflow["jobs"][f"deploy-{env.name}"]["environment"] == {"name": env.name}
    gated = {n for n, g, _ in circleci_jobs(files[".circleci/config.yml"].decode()) if g}
    assert gated == {f"deploy-{e.name}" for e in manifest.deploy.environments if e.approval is not None}
