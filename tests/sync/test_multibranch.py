"""`jenkins: {kind: multibranch}`: Multibranch Pipeline projects synced over real HTTP with
python-jenkins against the emulator, which loads them as Jenkins does (WorkflowMultiBranchProject
config.xml: branch sources, traits, orphaned-item strategy, scan triggers)."""
from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import jenkins as jenkins_lib
import pytest
import requests

from ci_gen.errors import ServerError
from ci_gen.targets.jenkins.multibranch import MULTIBRANCH_CLASS, Multibranch, multibranch_body, scan_spec
from tests.emulators.jenkins import JenkinsEmulator
from tests.sync.helpers import local_fleet, manifest, write
from tests.sync.test_sync_jenkins import sync
from tests.tools import require

GIT = "jenkins.plugins.git.GitSCMSource"
GITLAB = "io.jenkins.plugins.gitlabbranchsource.GitLabSCMSource"


def multibranch(name: str, settings: str = "{}", gitlab: str | None = None) -> str:
    extra = f"gitlab: {{project: {gitlab}}}\n" if gitlab else ""
    return manifest(name, folder=None, extra=f"jenkins: {{folder: ml, kind: multibranch, multibranch: {settings}}}\n"
                    + extra)


def client(emu: JenkinsEmulator) -> Any:
    return jenkins_lib.Jenkins(emu.url, emu.user, emu.token, timeout=10)


def config(emu: JenkinsEmulator, name: str) -> ET.Element:
    return ET.fromstring(client(emu).get_job_config(name).encode("utf-8"))


def report(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


def test_git_source_project_is_created_then_unchanged_in_three_requests_even_with_branch_jobs(
        tmp_path: Path, jenkins_env: JenkinsEmulator) -> None:
    settings = "{tags: true, orphaned: {days_to_keep: 14, num_to_keep: 5}, scan: 1h}"
    fleet = local_fleet(tmp_path, {"app0": multibranch("app0", settings), "app1": manifest("app1")})
    assert sync(fleet) == 0
    server = client(jenkins_env)
    assert server.get_job_info("ml/app0")["_class"] == MULTIBRANCH_CLASS
    assert server.get_job_info("ml/app1")["_class"] == "org.jenkinsci.plugins.workflow.job.WorkflowJob"
    root = config(jenkins_env, "ml/app0")
    source = root.find("sources/data/jenkins.branch.BranchSource/source")
    assert source is not None and source.get("class") == GIT
    assert source.findtext("remote") == "https://git.example.com/app0.git"
    assert [t.tag for t in source.iterfind("traits/*")] == [
        "jenkins.plugins.git.traits.BranchDiscoveryTrait", "jenkins.plugins.git.traits.TagDiscoveryTrait"]
    assert [root.findtext(f"orphanedItemStrategy/{f}") for f in ("pruneDeadBranches", "daysToKeep", "numToKeep")] \
        == ["true", "14", "5"]
    trigger = root.find("triggers/com.cloudbees.hudson.plugins.folder.computed.PeriodicFolderTrigger")
    assert trigger is not None and (trigger.findtext("spec"), trigger.findtext("interval")) == ("H/15 * * * *", "3600000")
    assert root.findtext("factory/scriptPath") == "Jenkinsfile"
    assert "[ci-gen managed] fleet=default project=path:repos/app0 sha256:" in (root.findtext("description") or "")
    # what a scan makes inside the project is Jenkins' own: not a folder of ours, not a job of ours
    jenkins_env.index_branch("ml/app0", "main")
    jenkins_env.index_branch("ml/app0", "feature-x")
    jenkins_env.clear_log()
    assert sync(fleet, report=tmp_path / "r.json") == 0
    assert report(tmp_path / "r.json")["summary"]["unchanged"] == 2
    assert len(jenkins_env.requests) == 3 and jenkins_env.count("POST") == 0
    assert sync(fleet, verify=True, check=True) == 0  # the live config proves the digest


def test_gitlab_source_with_merge_requests_and_a_setting_change_updates_in_place(
        tmp_path: Path, jenkins_env: JenkinsEmulator) -> None:
    fleet = local_fleet(tmp_path, {"app0": multibranch("app0", gitlab="ml/team/app0")})
    assert sync(fleet) == 0
    source = config(jenkins_env, "ml/app0").find("sources/data/jenkins.branch.BranchSource/source")
    assert source is not None and source.get("class") == GITLAB
    assert [source.findtext(f) for f in ("serverName", "projectOwner", "projectPath")] == ["default", "ml/team", "ml/team/app0"]
    strategies = {t.tag.rsplit(".", 1)[1]: t.findtext("strategyId") for t in source.iterfind("traits/*")}
    assert strategies == {"BranchDiscoveryTrait": "1", "OriginMergeRequestDiscoveryTrait": "1"}
    jenkins_env.index_branch("ml/app0", "MR-1")
    write(tmp_path / "repos/app0/ci-gen.yaml", multibranch(
        "app0", "{server: gitlab-internal, branches: all, merge_requests: both, scan: none}", gitlab="ml/team/app0"))
    jenkins_env.clear_log()
    assert sync(fleet) == 0
    assert jenkins_env.count("POST") == 1 and jenkins_env.count("POST", r"job/app0/config\.xml") == 1
    root = config(jenkins_env, "ml/app0")
    source = root.find("sources/data/jenkins.branch.BranchSource/source")
    assert source is not None and source.findtext("serverName") == "gitlab-internal"
    assert {t.findtext("strategyId") for t in source.iterfind("traits/*")} == {"3"}
    assert list(root.find("triggers") or []) == []
    assert jenkins_env.item("ml/app0/MR-1") is not None  # updated in place: the branch jobs stay


def test_what_a_git_source_cannot_do_fails_the_project_before_any_write(
        tmp_path: Path, jenkins_env: JenkinsEmulator) -> None:
    fleet = local_fleet(tmp_path, {"app0": multibranch("app0", "{merge_requests: head}"),
                                   "app1": multibranch("app1", "{source: gitlab}")})
    assert sync(fleet, report=tmp_path / "r.json") == 1
    errors = [p["error"] for p in report(tmp_path / "r.json")["projects"]]
    assert "fleet.yaml" in errors[0] and "plain git branch source discovers all branches and no merge requests" in errors[0]
    assert "source gitlab needs a GitLab project" in errors[1]
    assert jenkins_env.count("POST") == 0


def test_switching_kind_replaces_a_proven_job_and_prune_removes_a_gone_project(
        tmp_path: Path, jenkins_env: JenkinsEmulator) -> None:
    fleet = local_fleet(tmp_path, {"app0": manifest("app0"), "app1": multibranch("app1")})
    assert sync(fleet) == 0
    write(tmp_path / "repos/app0/ci-gen.yaml", multibranch("app0"))
    assert sync(fleet, dry_run=True, report=tmp_path / "r.json") == 0
    change = report(tmp_path / "r.json")["projects"][0]["changes"][0]
    assert change["action"] == "update" and "kind changed" in change["detail"]
    assert sync(fleet) == 0
    assert client(jenkins_env).get_job_info("ml/app0")["_class"] == MULTIBRANCH_CLASS
    assert sync(fleet, check=True, verify=True) == 0
    fleet = local_fleet(tmp_path / "smaller", {"app0": multibranch("app0")})
    jenkins_env.clear_log()
    assert sync(fleet, prune=True, report=tmp_path / "p.json") == 0
    assert jenkins_env.item("ml/app1") is None and jenkins_env.item("ml/app0") is not None
    assert jenkins_env.count("GET", r"job/app1/config\.xml") == 1  # proven before it was deleted


def test_a_project_edited_in_the_ui_is_neither_overwritten_nor_pruned(
        tmp_path: Path, jenkins_env: JenkinsEmulator) -> None:
    fleet = local_fleet(tmp_path, {"app0": multibranch("app0"), "app1": multibranch("app1")})
    assert sync(fleet) == 0
    edited = client(jenkins_env).get_job_config("ml/app0").replace(
        "<numToKeep>-1</numToKeep>", "<numToKeep>30</numToKeep>")  # kept longer, by hand
    client(jenkins_env).reconfig_job("ml/app0", edited)
    assert sync(fleet, verify=True, report=tmp_path / "r.json") == 1
    assert "modified outside ci-gen" in report(tmp_path / "r.json")["projects"][0]["error"]
    write(tmp_path / "repos/app0/ci-gen.yaml", multibranch("app0", "{scan: 2h}"))
    assert sync(fleet) == 1  # an update is refused too
    assert "<numToKeep>30</numToKeep>" in jenkins_env.config_xml("ml/app0")
    assert sync(local_fleet(tmp_path / "none", {"app1": multibranch("app1")}), prune=True) == 1
    assert jenkins_env.item("ml/app0") is not None


def test_a_copy_of_a_managed_project_or_a_pasted_marker_is_not_ours(
        tmp_path: Path, jenkins_env: JenkinsEmulator) -> None:
    fleet = local_fleet(tmp_path, {"app0": multibranch("app0"), "app1": multibranch("app1")})
    assert sync(fleet) == 0
    client(jenkins_env).copy_job("ml/app0", "ml/app0-copy")  # "Copy from" keeps the description
    pasted = jenkins_env.config_xml("ml/app0").replace("https://git.example.com/app0.git",
                                                       "https://git.example.com/elsewhere.git")
    client(jenkins_env).create_job("ml/app0-pasted", pasted)  # the marker, over another source
    assert sync(fleet, prune=True, report=tmp_path / "r.json") == 1
    errors = {p["key"]: p["error"] for p in report(tmp_path / "r.json")["projects"] if p["error"]}
    assert set(errors) == {"jenkins:ml/app0-copy", "jenkins:ml/app0-pasted"}
    assert all("modified outside ci-gen" in e for e in errors.values())
    assert {"ml/app0-copy", "ml/app0-pasted"} <= set(jenkins_env.job_names())
    assert jenkins_env.count("POST", "doDelete") == 0


def test_manifest_values_reach_config_xml_escaped(tmp_path: Path, jenkins_env: JenkinsEmulator) -> None:
    server_name = "gitlab & co <internal> 'eu'"
    fleet = local_fleet(tmp_path, {"app0": multibranch("app0", f'{{server: "{server_name}"}}', gitlab="ml/app0")})
    assert sync(fleet) == 0
    source = config(jenkins_env, "ml/app0").find("sources/data/jenkins.branch.BranchSource/source")
    assert source is not None and source.findtext("serverName") == server_name
    assert sync(fleet, check=True, verify=True) == 0


def test_faults_on_create_converge_without_duplicates(tmp_path: Path, jenkins_env: JenkinsEmulator) -> None:
    fleet = local_fleet(tmp_path, {f"app{i}": multibranch(f"app{i}") for i in range(3)})
    jenkins_env.inject("POST", r"job/ml/createItem", times=2, status=503)
    jenkins_env.inject("POST", r"job/ml/createItem", times=1, drop=True)
    assert sync(fleet) == 0
    assert all(fault.times == 0 for fault in jenkins_env.faults)
    assert sync(fleet, check=True) == 0
    assert sorted(n for n in jenkins_env.job_names() if n.startswith("ml/")) == ["ml/app0", "ml/app1", "ml/app2"]


def test_a_missing_branch_source_plugin_is_named_before_anything_is_written(
        tmp_path: Path, jenkins_env: JenkinsEmulator) -> None:
    jenkins_env.plugins = [p for p in jenkins_env.plugins if p["shortName"] != "gitlab-branch-source"]
    fleet = local_fleet(tmp_path, {"app0": multibranch("app0", gitlab="ml/app0")})
    with pytest.raises(ServerError, match=r"gitlab-branch-source \(GitLab branch sources\)"):
        sync(fleet)
    assert jenkins_env.count("POST") == 0


# -- the emulator loads a Multibranch project as Jenkins does ---------------------------------
def _body(**fields: Any) -> str:
    return multibranch_body(Multibranch(**{"source": "git", "location": "https://git.example.com/a.git", **fields}),
                            "made in a test")


def test_emulator_stores_a_multibranch_project_as_jenkins_serialises_it(jenkins_server: JenkinsEmulator) -> None:
    server = client(jenkins_server)
    server.create_job("mb", _body())
    stored = server.get_job_config("mb")
    assert stored.startswith("<?xml version='1.1' encoding='UTF-8'?>")
    root = ET.fromstring(stored.encode())
    assert root.get("plugin", "").startswith("workflow-multibranch@")
    assert root.find("folderViews").get("class") == "jenkins.branch.MultiBranchProjectViewHolder"  # type: ignore[union-attr]
    assert root.find("sources/data/jenkins.branch.BranchSource/source").get("plugin", "").startswith("git@")  # type: ignore[union-attr]
    server.create_job("bare", f"<{MULTIBRANCH_CLASS}/>")  # Jenkins fills the defaults
    bare = ET.fromstring(server.get_job_config("bare").encode())
    assert bare.findtext("orphanedItemStrategy/pruneDeadBranches") == "true" and bare.findtext("factory/scriptPath") == "Jenkinsfile"
    info = server.get_job_info("mb")
    assert info["_class"] == MULTIBRANCH_CLASS and info["jobs"] == []


@pytest.mark.parametrize(("xml", "why"), [
    (_body().replace(GIT, "org.example.NoSuchSCMSource"), "CannotResolveClassException"),
    (_body(source="gitlab", location="ml/a", branches="except-merge-requests").replace("<strategyId>1</strategyId>", "<strategyId>7</strategyId>"),
     "strategyId"),
    (_body().replace("jenkins.plugins.git.traits.BranchDiscoveryTrait",
                     "io.jenkins.plugins.gitlabbranchsource.BranchDiscoveryTrait"), "CannotResolveClassException"),
    (_body().replace("<remote>https://git.example.com/a.git</remote>", ""), "needs <remote>"),
    (_body(scan="1h").replace("<interval>3600000</interval>", "<interval>hourly</interval>"), "numeric <interval>"),
])
def test_emulator_rejects_what_jenkins_cannot_load(jenkins_server: JenkinsEmulator, xml: str, why: str) -> None:
    jenkins_server.csrf = False
    answer = requests.post(f"{jenkins_server.url}/createItem", params={"name": "bad"}, data=xml.encode(),
                           headers={"Content-Type": "text/xml"}, auth=(jenkins_server.user, jenkins_server.token),
                           timeout=10)
    assert answer.status_code == 500 and why in answer.text
    assert jenkins_server.item("bad") is None


def test_emulator_refuses_a_source_whose_plugin_is_missing(jenkins_server: JenkinsEmulator) -> None:
    jenkins_server.plugins = [p for p in jenkins_server.plugins if p["shortName"] != "gitlab-branch-source"]
    with pytest.raises(jenkins_lib.JenkinsException):
        client(jenkins_server).create_job("mb", _body(source="gitlab", location="ml/a"))
    client(jenkins_server).create_job("mb", _body())  # a git source still loads


def test_scan_spec_follows_the_periodic_trigger() -> None:
    assert [scan_spec(i) for i in ("1m", "5m", "30m", "1h", "8h", "1d", "2d", "7d")] == [
        "* * * * *", "* * * * *", "H/5 * * * *", "H/15 * * * *", "H/30 * * * *", "H H/4 * * *", "H H/12 * * *",
        "H H * * *"]


# -- the rendered Jenkinsfile on a Multibranch project ----------------------------------------
SCHEDULED = """\
version: 1
name: app
image: {name: registry.example.com/ml/app}
jenkins: {kind: KIND}
schedules:
  - {name: nightly, cron: '0 3 * * *', branch: main}
  - {name: weekly, cron: '0 4 * * 0', branch: main}
  - {name: release, cron: '0 5 * * *', branch: release/1.x}
"""


def test_schedules_fire_only_on_their_branch_when_every_branch_runs_the_jenkinsfile(
        jenkins_server: JenkinsEmulator) -> None:
    from ci_gen import api
    from ci_gen.targets.jenkins.lint import lint as lint_jenkins

    single = api.render_files(SCHEDULED.replace("KIND", "pipeline"))
    multi = api.render_files(SCHEDULED.replace("KIND", "multibranch"))
    assert "cron('0 3 * * *\\n0 4 * * 0\\n0 5 * * *')" in single["Jenkinsfile"].decode()
    assert ("cron(env.BRANCH_NAME == 'main' ? '0 3 * * *\\n0 4 * * 0' : env.BRANCH_NAME == 'release/1.x' "
            "? '0 5 * * *' : '')") in multi["Jenkinsfile"].decode()
    assert multi[".gitlab-ci.yml"] == single[".gitlab-ci.yml"]  # GitLab's schedules already carry their ref
    text = multi["Jenkinsfile"].decode()
    require("groovy", "apt-get install groovy default-jdk-headless")
    [result] = lint_jenkins({"Jenkinsfile": text})  # Groovy's parser and the declarative skeleton
    assert result.problems == () and result.skipped is None, result
    jenkins_server.csrf = False
    answer = requests.post(f"{jenkins_server.url}/pipeline-model-converter/validateJenkinsfile",
                           data={"jenkinsfile": text}, auth=(jenkins_server.user, jenkins_server.token), timeout=10)
    assert answer.json()["data"]["result"] == "success", answer.text  # the server's declarative validator


def test_killed_between_delete_and_create_of_a_kind_change_converges(
        tmp_path: Path, jenkins_env: JenkinsEmulator) -> None:
    from tests.sync.test_interrupted import _kill_when, _start

    fleet = local_fleet(tmp_path, {"app0": manifest("app0")})
    assert sync(fleet) == 0
    write(tmp_path / "repos/app0/ci-gen.yaml", multibranch("app0"))
    stuck = jenkins_env.inject("POST", r"job/ml/createItem", times=1, delay=60)  # hangs after the delete
    process = _start(fleet)
    _kill_when(process, lambda: stuck.times == 0)
    assert jenkins_env.item("ml/app0") is None  # deleted, not yet created: the worst moment
    jenkins_env.faults.clear()
    assert sync(fleet) == 0
    assert client(jenkins_env).get_job_info("ml/app0")["_class"] == MULTIBRANCH_CLASS
    assert sync(fleet, check=True, verify=True) == 0
