"""Contract tests of the GitLab emulator through the real python-gitlab client (contract Part B).

Each test names the contract behaviour it pins; raw `requests` calls check wire details the
client hides (headers, error bodies, pagination links)."""
from __future__ import annotations

import base64
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import gitlab
import pytest
import requests
from gitlab import exceptions as gle

from tests.emulators.gitlab import GitLabEmulator
from tests.emulators.gitlab_model import DEVELOPER, blob_id
from tests.tools import require

CI = "stages: [build]\nbuild:\n  stage: build\n  script: [make]\n"
FILES = {"ci-gen.yaml": "name: fraud\n", "ci/steps/build.sh": "#!/bin/sh\nmake\n",
         "ci/steps/test.sh": "#!/bin/sh\npytest\n", "README.md": "# fraud\n"}


@pytest.fixture
def fraud(gitlab_emulator: GitLabEmulator) -> str:
    gitlab_emulator.add_project("ml/vision/fraud", FILES)
    return "ml/vision/fraud"


@pytest.fixture
def http(gitlab_emulator: GitLabEmulator) -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.headers["PRIVATE-TOKEN"] = gitlab_emulator.token
        yield session


def _client(emulator: GitLabEmulator, **options: object) -> gitlab.Gitlab:
    return gitlab.Gitlab(emulator.url, timeout=10, **options)  # type: ignore[arg-type]


def test_auth(gitlab_emulator: GitLabEmulator, gitlab_client: gitlab.Gitlab, fraud: str) -> None:
    """Behaviour 14: token headers, 401 for an unknown token, 404 for a hidden project."""
    gitlab_client.auth()
    assert gitlab_client.user is not None and gitlab_client.user.username == "ci-gen-bot"
    assert gitlab_client.version()[0].startswith("17.")
    with _client(gitlab_emulator, oauth_token=gitlab_emulator.token) as bearer:
        assert bearer.projects.get(fraud).path == "fraud"
    with _client(gitlab_emulator, private_token="glpat-wrong") as wrong:
        with pytest.raises(gle.GitlabAuthenticationError):
            wrong.projects.get(fraud)
        with pytest.raises(gle.GitlabAuthenticationError):  # whatever the operation
            wrong.projects.get(fraud, lazy=True).variables.create({"key": "K", "value": "v"})
    with _client(gitlab_emulator) as anonymous:
        with pytest.raises(gle.GitlabGetError) as hidden:
            anonymous.projects.get(fraud)
    assert hidden.value.response_code == 404 and "Project Not Found" in str(hidden.value)


def test_projects_by_path_and_id(gitlab_emulator: GitLabEmulator,
                                 gitlab_client: gitlab.Gitlab, fraud: str,
                                 http: requests.Session) -> None:
    """Behaviour 15: `%2F` is one segment; a literal slash is another route."""
    project = gitlab_client.projects.get(fraud)
    assert gitlab_client.projects.get(project.id).path_with_namespace == fraud
    assert project.default_branch == "main" and project.empty_repo is False
    assert project.namespace["full_path"] == "ml/vision"
    with http.get(gitlab_emulator.url + "/api/v4/projects/ml/vision/fraud",
                  timeout=5) as literal:
        assert literal.status_code == 404 and literal.json() == {"error": "404 Not Found"}
    with pytest.raises(gle.GitlabGetError):
        gitlab_client.projects.get("ml/vision/nothing")


def test_group_and_subgroup_listing(gitlab_emulator: GitLabEmulator,
                                    gitlab_client: gitlab.Gitlab) -> None:
    """Behaviour 23: pagination followed through Link rel=next."""
    for index in range(7):
        gitlab_emulator.add_project(f"ml/p{index}")
        gitlab_emulator.add_project(f"ml/deep/er/q{index}")
    gitlab_emulator.add_project("other/x")
    group = gitlab_client.groups.get("ml")
    direct = group.projects.list(get_all=True, per_page=3)
    assert len(direct) == 7
    everything = group.projects.list(include_subgroups=True, iterator=True, per_page=4)
    paths = {p.path_with_namespace for p in everything}
    assert len(paths) == 14 and "other/x" not in paths
    assert everything.total == 14 and everything.total_pages == 4
    assert gitlab_emulator.count("GET", r"groups/\d+/projects") == 3 + 4  # pages fetched


def test_files(gitlab_emulator: GitLabEmulator, gitlab_client: gitlab.Gitlab, fraud: str,
               http: requests.Session) -> None:
    """Behaviours 17 and 25: content, blob ids and the X-Gitlab headers."""
    project = gitlab_client.projects.get(fraud)
    got = project.files.get("ci/steps/build.sh", ref="main")
    assert got.decode() == b"#!/bin/sh\nmake\n"
    assert got.blob_id == blob_id(b"#!/bin/sh\nmake\n")
    assert project.files.raw("README.md", ref="main") == b"# fraud\n"
    head = project.files.head("ci/steps/build.sh", ref="main")
    assert head["X-Gitlab-Blob-Id"] == got.blob_id
    assert head["X-Gitlab-Last-Commit-Id"] == got.last_commit_id
    with pytest.raises(gle.GitlabHeadError):
        project.files.head("missing.txt", ref="main")
    with pytest.raises(gle.GitlabGetError, match="File Not Found"):
        project.files.get("missing.txt", ref="main")
    with pytest.raises(gle.GitlabGetError, match="Commit Not Found"):
        project.files.get("README.md", ref="no-such-branch")
    url = f"{gitlab_emulator.url}/api/v4/projects/{project.id}/repository/files/README.md"
    with http.get(url, timeout=5) as no_ref:
        assert no_ref.status_code == 400 and no_ref.json() == {"error": "ref is missing"}
    created = project.files.create({"file_path": "notes.txt", "branch": "main",
                                    "content": "hi", "commit_message": "add"})
    assert created.file_path == "notes.txt"
    with pytest.raises(gle.GitlabCreateError, match="already exists"):
        project.files.create({"file_path": "notes.txt", "branch": "main", "content": "x",
                              "commit_message": "again"})
    text = project.files.get("notes.txt", ref="main")  # a JSON answer even for .txt
    text.content = base64.b64encode(b"hello").decode()
    text.encoding = "base64"
    text.save(branch="main", commit_message="update")
    assert gitlab_emulator.files(fraud)["notes.txt"] == b"hello"
    project.files.delete("notes.txt", branch="main", commit_message="drop")
    assert "notes.txt" not in gitlab_emulator.files(fraud)
    with pytest.raises(gle.GitlabDeleteError, match="doesn't exist"):
        project.files.delete("notes.txt", branch="main", commit_message="drop")


def test_tree_ids_match_git(gitlab_emulator: GitLabEmulator, gitlab_client: gitlab.Gitlab,
                            fraud: str, tmp_path: Path) -> None:
    """Blob and tree ids and the recursive order are git's own."""
    git = require("git", "apt-get install -y git")
    for path, content in FILES.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(content)
    subprocess.run([git, "init", "-q", str(tmp_path)], check=True)
    subprocess.run([git, "-C", str(tmp_path), "add", "."], check=True)
    listing = subprocess.run([git, "-C", str(tmp_path), "ls-files", "-s"], check=True,
                             capture_output=True, text=True).stdout
    tree_sha = subprocess.run([git, "-C", str(tmp_path), "write-tree"], check=True,
                              capture_output=True, text=True).stdout.strip()
    expected = subprocess.run([git, "-C", str(tmp_path), "ls-tree", "-r", "-t", tree_sha],
                              check=True, capture_output=True, text=True).stdout
    wanted = [(line.split()[2], line.split("\t")[1]) for line in expected.splitlines()]
    project = gitlab_client.projects.get(fraud)
    tree = project.repository_tree(recursive=True, get_all=True, per_page=2)
    assert [(entry["id"], entry["path"]) for entry in tree] == wanted
    assert len(listing.splitlines()) == 4
    top = project.repository_tree(get_all=True)
    assert [entry["name"] for entry in top] == ["ci", "README.md", "ci-gen.yaml"]
    with pytest.raises(gle.GitlabGetError):
        project.repository_tree(path="nowhere")


def test_commit_with_actions(gitlab_emulator: GitLabEmulator, gitlab_client: gitlab.Gitlab,
                             fraud: str) -> None:
    """Behaviour 18: all actions in one commit, or none."""
    project = gitlab_client.projects.get(fraud)
    before = project.branches.get("main").commit["id"]
    commit = project.commits.create({
        "branch": "ci-gen/sync", "start_branch": "main", "commit_message": "ci-gen: sync",
        "actions": [
            {"action": "create", "file_path": ".gitlab-ci.yml", "content": CI},
            {"action": "update", "file_path": "ci-gen.yaml", "content": "name: fraud2\n"},
            {"action": "delete", "file_path": "README.md"},
            {"action": "move", "file_path": "ci/steps/unit.sh",
             "previous_path": "ci/steps/test.sh"},
            {"action": "create", "file_path": "bin/run", "content": "#!/bin/sh\n",
             "execute_filemode": True}]})
    assert commit.parent_ids == [before] and commit.stats["total"] > 0
    files = gitlab_emulator.files(fraud, "ci-gen/sync")
    assert set(files) == {".gitlab-ci.yml", "ci-gen.yaml", "ci/steps/build.sh",
                          "ci/steps/unit.sh", "bin/run"}
    assert project.files.get("bin/run", ref="ci-gen/sync").execute_filemode is True
    assert project.branches.get("main").commit["id"] == before
    with pytest.raises(gle.GitlabCreateError, match="already exists"):
        project.commits.create({"branch": "ci-gen/sync", "commit_message": "partial",
                                "actions": [
                                    {"action": "update", "file_path": "ci-gen.yaml",
                                     "content": "changed"},
                                    {"action": "create", "file_path": ".gitlab-ci.yml",
                                     "content": CI}]})
    assert gitlab_emulator.files(fraud, "ci-gen/sync")["ci-gen.yaml"] == b"name: fraud2\n"


@pytest.mark.parametrize(("extra", "message"), [
    ({"branch": "new"}, "only create or edit files when you are on a branch"),
    ({"branch": "main", "start_branch": "other"}, "A branch called 'main' already exists"),
    ({"branch": "other", "start_branch": "main", "start_sha": "abc1234"},
     "can't pass both start_branch and start_sha"),
    ({"branch": "main", "actions": [{"action": "update", "file_path": "README.md",
                                     "content": "x", "last_commit_id": "0" * 40}]},
     "changed since you started editing it"),
    ({"branch": "main", "actions": [{"action": "delete", "file_path": "nope"}]},
     "doesn't exist"),
])
def test_commit_branch_rules(gitlab_emulator: GitLabEmulator, gitlab_client: gitlab.Gitlab,
                             fraud: str, extra: dict[str, object], message: str) -> None:
    project = gitlab_client.projects.get(fraud)
    project.branches.create({"branch": "other", "ref": "main"})
    project.commits.create({"branch": "other", "commit_message": "diverge", "actions": [
        {"action": "create", "file_path": "o.txt", "content": "o"}]})
    data = {"commit_message": "m", "actions": [{"action": "create", "file_path": "n.txt",
                                                "content": "n"}], **extra}
    with pytest.raises(gle.GitlabCreateError, match=message) as caught:
        project.commits.create(data)
    assert caught.value.response_code == 400


def test_first_commit_on_empty_repo(gitlab_emulator: GitLabEmulator,
                                    gitlab_client: gitlab.Gitlab) -> None:
    gitlab_emulator.add_project("ml/empty")
    project = gitlab_client.projects.get("ml/empty")
    assert project.empty_repo is True and project.default_branch is None
    project.commits.create({"branch": "main", "commit_message": "init", "actions": [
        {"action": "create", "file_path": ".gitlab-ci.yml", "content": CI}]})
    assert gitlab_client.projects.get("ml/empty").default_branch == "main"


def test_branches(gitlab_client: gitlab.Gitlab, fraud: str) -> None:
    project = gitlab_client.projects.get(fraud)
    with pytest.raises(gle.GitlabGetError, match="Branch Not Found"):
        project.branches.get("ci-gen/sync")
    created = project.branches.create({"branch": "ci-gen/sync", "ref": "main"})
    assert created.commit["id"] == project.branches.get("main").commit["id"]
    assert project.branches.get("ci-gen/sync").name == "ci-gen/sync"
    with pytest.raises(gle.GitlabCreateError, match="Branch already exists"):
        project.branches.create({"branch": "ci-gen/sync", "ref": "main"})
    assert {b.name for b in project.branches.list(get_all=True)} == {"main", "ci-gen/sync"}
    project.branches.delete("ci-gen/sync")


def test_merge_requests(gitlab_client: gitlab.Gitlab, fraud: str) -> None:
    """Behaviour 19."""
    project = gitlab_client.projects.get(fraud)
    project.branches.create({"branch": "ci-gen/sync", "ref": "main"})
    spec = {"source_branch": "ci-gen/sync", "target_branch": "main", "title": "ci-gen sync"}
    mr = project.mergerequests.create(spec)
    assert (mr.iid, mr.state) == (1, "opened") and mr.web_url.endswith("/merge_requests/1")
    with pytest.raises(gle.GitlabCreateError) as duplicate:
        project.mergerequests.create(spec)
    assert duplicate.value.response_code == 409
    assert "Another open merge request already exists" in str(duplicate.value)
    with pytest.raises(gle.GitlabCreateError, match="same project/branch"):
        project.mergerequests.create({**spec, "target_branch": "ci-gen/sync"})
    found = project.mergerequests.list(state="opened", source_branch="ci-gen/sync")
    assert [m.iid for m in found] == [1]
    found[0].description = "updated by ci-gen"
    found[0].save()
    assert project.mergerequests.get(1).description == "updated by ci-gen"
    found[0].state_event = "close"
    found[0].save()
    assert project.mergerequests.list(state="opened") == []
    assert project.mergerequests.create(spec).iid == 2


def test_variables(gitlab_emulator: GitLabEmulator, gitlab_client: gitlab.Gitlab,
                   fraud: str) -> None:
    """Behaviour 20: key and mask rules, scopes, pagination at 20."""
    project = gitlab_client.projects.get(fraud)
    created = project.variables.create({"key": "MODEL_VARIANT", "value": "large",
                                        "protected": True})
    assert (created.masked, created.protected, created.environment_scope) == (False, True, "*")
    bad = [({"key": "BAD-KEY", "value": "v"}, "can contain only letters"),
           ({"key": "MODEL_VARIANT", "value": "v"}, "has already been taken"),
           ({"key": "SECRET", "value": "short", "masked": True}, "is invalid"),
           ({"key": "SECRET", "value": "has spaces in it", "masked": True}, "is invalid"),
           ({"key": "K" * 256, "value": "v"}, "too long")]
    for data, message in bad:
        with pytest.raises(gle.GitlabCreateError, match=message):
            project.variables.create(data)
    variable = project.variables.get("MODEL_VARIANT")
    variable.value = "small"
    variable.save()
    assert project.variables.get("MODEL_VARIANT").value == "small"
    project.variables.create({"key": "MODEL_VARIANT", "value": "x",
                              "environment_scope": "production"})
    with pytest.raises(gle.GitlabGetError) as ambiguous:
        project.variables.get("MODEL_VARIANT")
    assert ambiguous.value.response_code == 409
    scoped = project.variables.get("MODEL_VARIANT",
                                   filter={"environment_scope": "production"})
    assert scoped.value == "x"
    for index in range(25):
        project.variables.create({"key": f"V{index}", "value": "1"})
    assert len(project.variables.list(get_all=True)) == 27
    project.variables.delete("V0")
    with pytest.raises(gle.GitlabGetError, match="Variable Not Found"):
        project.variables.get("V0")


def test_developer_cannot_touch_variables(gitlab_emulator: GitLabEmulator, fraud: str) -> None:
    gitlab_emulator.add_user("dev", "glpat-developer", role=DEVELOPER)
    with _client(gitlab_emulator, private_token="glpat-developer") as developer:
        project = developer.projects.get(fraud)
        with pytest.raises(gle.GitlabListError) as forbidden:
            project.variables.list()
        assert forbidden.value.response_code == 403


def test_pipeline_schedules(gitlab_client: gitlab.Gitlab, fraud: str) -> None:
    """Behaviour 21."""
    project = gitlab_client.projects.get(fraud)
    schedule = project.pipelineschedules.create({"description": "ci-gen: nightly-rescan",
                                                 "ref": "main", "cron": "0 3 * * *"})
    assert (schedule.cron_timezone, schedule.active) == ("UTC", True)
    with pytest.raises(gle.GitlabCreateError, match="cron"):
        project.pipelineschedules.create({"description": "x", "ref": "main", "cron": "soon"})
    schedule.cron = "30 4 * * 1"
    schedule.save()
    variable = schedule.variables.create({"key": "MODE", "value": "full"})
    assert variable.key == "MODE"
    schedule.variables.update("MODE", {"value": "quick"})
    details = project.pipelineschedules.get(schedule.id)
    assert details.cron == "30 4 * * 1"
    assert details.attributes["variables"][0]["value"] == "quick"
    schedule.variables.delete("MODE")
    schedule_id = schedule.id
    schedule.play()  # python-gitlab replaces the object's attributes with the play answer
    assert project.pipelines.list(source="schedule")[0].ref == "main"
    assert [s.id for s in project.pipelineschedules.list(get_all=True)] == [schedule_id]
    project.pipelineschedules.delete(schedule_id)
    with pytest.raises(gle.GitlabGetError, match="Pipeline Schedule Not Found"):
        project.pipelineschedules.get(schedule_id)


def test_ci_lint(gitlab_emulator: GitLabEmulator, gitlab_client: gitlab.Gitlab,
                 fraud: str) -> None:
    """Behaviour 22: the schema decides validity; answers are 200 either way."""
    project = gitlab_client.projects.get(fraud)
    good = project.ci_lint.create({"content": CI, "include_jobs": True})
    assert good.valid is True and good.errors == [] and good.jobs[0]["name"] == "build"
    bad = project.ci_lint.create({"content": "build:\n  scrpt: [make]\n"})
    assert bad.valid is False and "scrpt" in bad.errors[0]
    assert project.ci_lint.create({"content": "a: [\n"}).valid is False
    wrong_stage = project.ci_lint.create({"content": "b:\n  stage: deploy2\n  script: [x]\n"})
    assert "chosen stage deploy2 does not exist" in wrong_stage.errors[0]
    with pytest.raises(gle.GitlabCiLintError):
        project.ci_lint.validate({"content": "build:\n  scrpt: [make]\n"})
    gitlab_emulator.commit_files(fraud, {"ci/jobs.yml": "test:\n  script: [pytest]\n"})
    included = project.ci_lint.create({"content": "include:\n  - local: ci/jobs.yml\n"
                                                  + CI.replace("[build]", "[build, test]")})
    assert included.valid is True and "pytest" in included.merged_yaml
    assert included.includes[0]["location"] == "ci/jobs.yml"
    gitlab_emulator.commit_files(fraud, {".gitlab-ci.yml": CI})
    assert project.ci_lint.get().valid is True
    with pytest.raises(gle.GitlabCreateError) as gone:
        gitlab_client.ci_lint.create({"content": CI})
    assert gone.value.response_code == 410
    gitlab_emulator.legacy_lint = True
    assert gitlab_client.ci_lint.create({"content": CI}).status == "valid"


def test_pipelines_jobs_and_pagination_headers(gitlab_emulator: GitLabEmulator,
                                               gitlab_client: gitlab.Gitlab, fraud: str,
                                               http: requests.Session) -> None:
    """Behaviour 23: X-* headers, Link keeping the query, history through python-gitlab."""
    for index in range(45):
        gitlab_emulator.add_pipeline(fraud, "main", "failed" if index % 3 else "success",
                                     duration=60 + index,
                                     jobs=[{"name": "build", "stage": "build",
                                            "duration": 30}])
    project = gitlab_client.projects.get(fraud)
    url = f"{gitlab_emulator.url}/api/v4/projects/{project.id}/pipelines?ref=main&per_page=20"
    with http.get(url, timeout=5) as first:
        headers = first.headers
    assert (headers["X-Total"], headers["X-Total-Pages"], headers["X-Page"]) == ("45", "3", "1")
    assert (headers["X-Next-Page"], headers["X-Prev-Page"]) == ("2", "")
    assert f'<{gitlab_emulator.url}/api/v4/projects/{project.id}/pipelines?ref=main&page=2' \
           f'&per_page=20>; rel="next"' in headers["Link"]
    with http.get(url + "&page=3", timeout=5) as last:
        assert last.headers["X-Next-Page"] == "" and 'rel="next"' not in last.headers["Link"]
        assert len(last.json()) == 5
    history = project.pipelines.list(iterator=True, status="success")
    assert len(list(history)) == 15
    newest = project.pipelines.list(per_page=1, get_all=False)[0]
    assert newest.id == 45 and project.pipelines.get(newest.id).duration == 104
    assert project.pipelines.latest(ref="main").id == 45
    assert [j.name for j in project.pipelines.get(45).jobs.list(scope=["failed"])] == ["build"]
    assert len(project.jobs.list(get_all=True)) == 45
    with pytest.raises(gle.GitlabGetError):
        project.pipelines.get(999)


def test_rate_limits_and_transient_errors(gitlab_emulator: GitLabEmulator,
                                          gitlab_client: gitlab.Gitlab, fraud: str) -> None:
    """Behaviour 24: python-gitlab's retries converge on injected 429, 5xx and resets."""
    gitlab_emulator.inject("GET", "projects/ml/vision/fraud$", times=2, status=429,
                           retry_after=0)
    gitlab_emulator.clear_log()
    project = gitlab_client.projects.get(fraud)
    assert gitlab_emulator.count("GET", "projects/") == 3
    gitlab_emulator.inject("POST", "repository/commits", times=2, status=503)
    gitlab_emulator.inject("POST", "repository/commits", drop=True)
    project.commits.create({"branch": "main", "commit_message": "m", "actions": [
        {"action": "create", "file_path": "n.txt", "content": "n"}]})
    assert gitlab_emulator.count("POST", "repository/commits") == 4
    assert gitlab_emulator.files(fraud)["n.txt"] == b"n"  # written exactly once
    gitlab_emulator.inject("GET", "variables", status=409, reason="Resource lock")
    assert project.variables.list() == []
    with _client(gitlab_emulator, private_token=gitlab_emulator.token) as plain:
        gitlab_emulator.inject("GET", "projects/", status=503)
        with pytest.raises(gle.GitlabGetError) as unavailable:
            plain.projects.get(fraud)
        assert unavailable.value.response_code == 503
        gitlab_emulator.inject("GET", "projects/", times=11, status=429, retry_after=0)
        with pytest.raises(gle.GitlabGetError) as limited:
            plain.projects.get(fraud)
        assert limited.value.response_code == 429
        gitlab_emulator.inject("GET", "projects/", drop=True)
        with pytest.raises(requests.ConnectionError):
            plain.projects.get(fraud)


def test_http_controls(gitlab_emulator: GitLabEmulator, http: requests.Session) -> None:
    base = gitlab_emulator.url + "/_emulator/"
    seed = {"projects": [{"path": "ml/seeded", "files": {"ci-gen.yaml": "x: 1\n"}}],
            "pipelines": [{"project": "ml/seeded", "status": "success", "duration": 12}]}
    with http.post(base + "seed", json=seed, timeout=5) as seeded:
        assert seeded.status_code == 200
    with http.get(base + "state", timeout=5) as state:
        assert state.json()["projects"]["ml/seeded"]["branches"] == {"main": ["ci-gen.yaml"]}
    with http.get(gitlab_emulator.url + "/api/v4/projects/ml%2Fseeded/pipelines",
                  timeout=5) as listed:
        assert listed.json()[0]["status"] == "success"
    with http.get(base + "requests", timeout=5) as log:
        assert log.json() == [{"method": "GET", "path": "/api/v4/projects/ml%2Fseeded/pipelines",
                               "query": "", "status": 200}]


def test_standalone_runner(tmp_path: Path) -> None:
    """`python -m tests.emulators` serves both, seeded from a file, until terminated."""
    seed = tmp_path / "seed.json"
    seed.write_text('{"gitlab": {"projects": [{"path": "ml/a", "files": {"x": "1"}}]},'
                    ' "jenkins": {"jobs": [{"name": "ml/a", "script": "pipeline {}"}]}}')
    runner = subprocess.Popen([sys.executable, "-m", "tests.emulators", "--seed", str(seed)],
                              stdout=subprocess.PIPE, text=True,
                              cwd=Path(__file__).resolve().parents[1])
    try:
        assert runner.stdout is not None
        env = dict(runner.stdout.readline().strip().split("=", 1) for _ in range(5))
        with gitlab.Gitlab(env["CI_GEN_GITLAB_URL"], private_token=env["CI_GEN_GITLAB_TOKEN"],
                           timeout=10) as client:
            assert client.projects.get("ml/a").default_branch == "main"
        with requests.get(env["CI_GEN_JENKINS_URL"] + "/job/ml/job/a/api/json?tree=name",
                          auth=(env["CI_GEN_JENKINS_USER"], env["CI_GEN_JENKINS_TOKEN"]),
                          timeout=5) as job:
            assert job.json()["name"] == "a"
    finally:
        runner.terminate()
        assert runner.wait(timeout=10) == 0
        if runner.stdout is not None:
            runner.stdout.close()
