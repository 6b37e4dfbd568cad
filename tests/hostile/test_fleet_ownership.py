"""Hostile input: a fleet changes and deletes only the Jenkins jobs it provably owns.

Real python-jenkins (and python-gitlab) over real HTTP against the emulators, faults injected
there. Each test is one way the fleet's trust was broken: a manifest reaching into another
team's folder, a "Copy from" or a pasted marker taken for a managed job, an edit in Jenkins
overwritten, a still-listed project's job pruned, a `..` folder, a 400 taken for "exists".
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

import jenkins
import pytest

from ci_gen.cli import main
from ci_gen.sync.main import run_sync
from ci_gen.targets.jenkins.job_xml import semantic
from ci_gen.sync.options import SyncOptions
from ci_gen.errors import CiGenError, UserError
from tests.emulators.gitlab import GitLabEmulator
from tests.emulators.jenkins import JenkinsEmulator
from tests.emulators.jenkins_model import FOLDER, Item, parse_config
from tests.sync.helpers import local_fleet, manifest, write

ML = "id: ml-platform\ndefaults:\n  jenkins: {folder: ml}\n"
TEAM_B = "id: team-b\ndefaults:\n  jenkins: {folder: teamb}\n"


@pytest.fixture
def jenkins_env(jenkins_emulator: JenkinsEmulator, monkeypatch: pytest.MonkeyPatch,
                tmp_path: Path) -> Iterator[JenkinsEmulator]:
    for name in ("CI_GEN_GITLAB_URL", "CI_GEN_GITLAB_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # no stray JJB or python-gitlab config
    monkeypatch.setenv("CI_GEN_JENKINS_URL", jenkins_emulator.url)
    monkeypatch.setenv("CI_GEN_JENKINS_USER", jenkins_emulator.user)
    monkeypatch.setenv("CI_GEN_JENKINS_TOKEN", jenkins_emulator.token)
    yield jenkins_emulator


@pytest.fixture
def gitlab_env(gitlab_emulator: GitLabEmulator, jenkins_env: JenkinsEmulator,
               monkeypatch: pytest.MonkeyPatch) -> GitLabEmulator:
    monkeypatch.setenv("CI_GEN_GITLAB_URL", gitlab_emulator.url)
    monkeypatch.setenv("CI_GEN_GITLAB_TOKEN", gitlab_emulator.token)
    return gitlab_emulator


def sync(fleet: Path, report: Path | None = None, **options: object) -> int:
    return run_sync(SyncOptions(fleet=fleet, jobs=3, timeout=10, report=report, **options))  # type: ignore[arg-type]


def projects(report: Path) -> dict[str, dict[str, object]]:
    return {p["key"]: p for p in json.loads(report.read_text())["projects"]}


def client(emulator: JenkinsEmulator) -> jenkins.Jenkins:
    return jenkins.Jenkins(emulator.url, emulator.user, emulator.token, timeout=10)


def edit(emulator: JenkinsEmulator, name: str, old: str, new: str) -> None:
    """An edit made in the Jenkins UI: config.xml posted by a person, description untouched."""
    config = emulator.config_xml(name)
    assert old in config
    client(emulator).reconfig_job(name, config.replace(old, new))


# -- a manifest cannot reach outside the place the fleet gives its project ----------------------

def test_a_manifest_cannot_take_over_or_prune_another_teams_jobs(tmp_path: Path, jenkins_env: JenkinsEmulator) -> None:
    team_b = local_fleet(tmp_path / "b", {n: manifest(n, folder=None) for n in ("pay1", "pay2")}, TEAM_B)
    assert sync(team_b) == 0
    victim = jenkins_env.config_xml("teamb/pay1")
    attacker = manifest("pay1", folder="teamb")  # the manifest's author names team B's folder
    team_a = local_fleet(tmp_path / "a", {"evil": attacker, "app": manifest("app", folder=None)},
                         "id: team-a\ndefaults:\n  jenkins: {folder: teama}\n")
    report = tmp_path / "r.json"
    assert sync(team_a, report) == 1
    assert "outside the fleet's folder 'teama'" in str(projects(report)["path:repos/evil"]["error"])
    assert jenkins_env.config_xml("teamb/pay1") == victim  # not pointed at the attacker's repository
    assert sync(team_a, report, prune=True) == 1
    assert {"teamb/pay1", "teamb/pay2", "teama/app"} <= set(jenkins_env.job_names())
    assert jenkins_env.count("POST", r"job/teamb/") == 2  # team B's own two creates, nothing since


def test_a_subfolder_of_the_fleet_folder_is_the_manifests_to_choose(tmp_path: Path, jenkins_env: JenkinsEmulator) -> None:
    fleet = local_fleet(tmp_path, {"a": manifest("a", folder="ml/nlp"), "b": manifest("b", folder="ML")}, ML)
    assert sync(fleet) == 0
    assert {"ml/nlp/a", "ml/b"} <= set(jenkins_env.job_names())
    from ci_gen.targets.jenkins.placement import place

    with pytest.raises(UserError, match="outside the fleet's folder 'ml'"):
        place("ml", "mlx", "a")  # a prefix of a name is not a folder above it


# -- ownership is proven, not claimed by text ---------------------------------------------------

def test_a_copy_of_a_managed_job_is_not_pruned(tmp_path: Path, jenkins_env: JenkinsEmulator) -> None:
    fleet = local_fleet(tmp_path, {"app0": manifest("app0"), "app1": manifest("app1")}, ML)
    assert sync(fleet) == 0
    client(jenkins_env).copy_job("ml/app0", "ml/app0-copy")  # Jenkins' "Copy from": same description
    assert "[ci-gen managed]" in jenkins_env.config_xml("ml/app0-copy")
    report = tmp_path / "r.json"
    assert sync(fleet, report, prune=True) == 1
    assert "ml/app0-copy" in jenkins_env.job_names()
    assert "modified outside ci-gen" in str(projects(report)["jenkins:ml/app0-copy"]["error"])
    assert jenkins_env.count("POST", "doDelete") == 0


def test_a_pasted_marker_does_not_make_a_job_ours(tmp_path: Path, jenkins_env: JenkinsEmulator) -> None:
    fleet = local_fleet(tmp_path, {"app0": manifest("app0")}, ML)
    assert sync(fleet) == 0
    marker = semantic(jenkins_env.config_xml("ml/app0"))["description"]
    jenkins_env.create_job("ml/hand-made", script="pipeline { agent any; stages { stage('x') { steps { echo 'mine' } } } }")
    edit(jenkins_env, "ml/hand-made", "<description/>" if "<description/>" in jenkins_env.config_xml("ml/hand-made")
         else "<description></description>", f"<description>{marker}</description>")
    assert sync(fleet, prune=True) == 1
    assert "mine" in jenkins_env.config_xml("ml/hand-made")


def test_an_edited_job_is_neither_overwritten_nor_pruned(tmp_path: Path, jenkins_env: JenkinsEmulator) -> None:
    fleet = local_fleet(tmp_path, {"app0": manifest("app0"), "app1": manifest("app1")}, ML)
    assert sync(fleet) == 0
    edit(jenkins_env, "ml/app1", "*/main", "*/hotfix")
    write(tmp_path / "repos/app1/ci-gen.yaml", manifest("app1", schedules=(("nightly", "0 2 * * *"),)))
    report = tmp_path / "r.json"
    assert sync(fleet, report) == 1  # an update is due, but the live job is not what ci-gen wrote
    assert "modified outside ci-gen" in str(projects(report)["path:repos/app1"]["error"])
    assert sync(fleet, verify=True) == 1  # --verify reports it too, and does not restore it
    assert "*/hotfix" in jenkins_env.config_xml("ml/app1")
    smaller = local_fleet(tmp_path, {"app0": manifest("app0")}, ML)
    assert sync(smaller, prune=True) == 1
    assert "ml/app1" in jenkins_env.job_names()


def test_another_fleets_job_in_our_folder_is_left_alone(tmp_path: Path, jenkins_env: JenkinsEmulator) -> None:
    other = local_fleet(tmp_path / "other", {"x": manifest("x"), "app0": manifest("app0")},
                        "id: other\ndefaults:\n  jenkins: {folder: ml}\n")
    assert sync(other) == 0
    before = jenkins_env.config_xml("ml/app0")
    fleet = local_fleet(tmp_path, {"app0": manifest("app0"), "app1": manifest("app1")}, ML)
    report = tmp_path / "r.json"
    assert sync(fleet, report, prune=True) == 1
    assert "managed by fleet 'other'" in str(projects(report)["path:repos/app0"]["error"])
    assert jenkins_env.config_xml("ml/app0") == before
    assert {"ml/x", "ml/app1"} <= set(jenkins_env.job_names())


# -- --prune deletes only what is known to be gone ----------------------------------------------

def test_a_duplicate_claim_does_not_prune_the_claimed_job(tmp_path: Path, jenkins_env: JenkinsEmulator) -> None:
    fleet = local_fleet(tmp_path, {"a": manifest("same"), "c": manifest("other")}, ML)
    assert sync(fleet) == 0
    both = local_fleet(tmp_path, {"a": manifest("same"), "b": manifest("same"), "c": manifest("other")}, ML)
    report = tmp_path / "r.json"
    assert sync(both, report, prune=True) == 1
    assert "ml/same" in jenkins_env.job_names()
    assert "still in the fleet and failed" in str(projects(report)["jenkins:ml/same"]["skipped"])


def test_a_project_failing_after_its_manifest_was_read_keeps_its_job(tmp_path: Path, jenkins_env: JenkinsEmulator) -> None:
    fleet = local_fleet(tmp_path, {"app0": manifest("app0"), "app1": manifest("app1")}, ML)
    assert sync(fleet) == 0
    write(tmp_path / "repos/app1/ci-gen.yaml", manifest("app1", folder="elsewhere"))
    report = tmp_path / "r.json"
    assert sync(fleet, report, prune=True) == 1
    assert "ml/app1" in jenkins_env.job_names() and "elsewhere/app1" not in jenkins_env.job_names()
    assert projects(report)["jenkins:ml/app1"]["status"] == "skipped"


def test_a_403_on_a_listed_project_does_not_prune_its_job(tmp_path: Path, jenkins_env: JenkinsEmulator,
                                                          gitlab_env: GitLabEmulator) -> None:
    for name in ("app0", "app1"):
        gitlab_env.add_project(f"ml/{name}", files={"ci-gen.yaml": manifest(name)})
    fleet = write(tmp_path / "fleet.yaml", "version: 1\n" + ML + "  gitlab: {mode: commit}\nprojects:\n"
                  "  - {gitlab: ml/app0}\n  - {gitlab: ml/app1}\n")
    assert sync(fleet) == 0
    gitlab_env.inject("GET", r"^/api/v4/projects/ml/app1$", times=100, status=403)
    report = tmp_path / "r.json"
    assert sync(fleet, report, prune=True) == 1
    assert "403" in str(projects(report)["gitlab:ml/app1"]["error"])
    assert "ml/app1" in jenkins_env.job_names()
    assert "gitlab:ml/app1" in str(projects(report)["jenkins:ml/app1"]["skipped"])


def test_a_failed_discovery_page_prunes_nothing(tmp_path: Path, jenkins_env: JenkinsEmulator,
                                                gitlab_env: GitLabEmulator) -> None:
    gitlab_env.add_project("ml/app0", files={"ci-gen.yaml": manifest("app0")})
    for i in range(100):  # a second page of the group listing (100 per page)
        gitlab_env.add_project(f"ml/empty{i:03}", files={"README.md": "x\n"})
    gitlab_env.add_project("ml/zlast", files={"ci-gen.yaml": manifest("zlast")})
    fleet = write(tmp_path / "fleet.yaml", "version: 1\n" + ML + "discover:\n  - {gitlab_group: ml}\n")
    assert sync(fleet, only="jenkins") == 0 and "ml/zlast" in jenkins_env.job_names()
    page2 = gitlab_env.inject("GET", r"^/api/v4/groups/ml/projects$", query=r"(^|&)page=2(&|$)", times=100, status=403)
    with pytest.raises(CiGenError, match="group discovery"):
        sync(fleet, only="jenkins", prune=True)
    assert page2.times < 100 and gitlab_env.count("GET", r"/groups/ml/projects$") >= 2  # page 1 was read
    assert {"ml/app0", "ml/zlast"} <= set(jenkins_env.job_names())
    assert jenkins_env.count("POST", "doDelete") == 0


# -- folder paths are validated; a 400 is an error; nothing unproven is reconfigured ------------

@pytest.mark.parametrize("folder", ["..", ".", "ml/..", "ml/./x", "ml.", "a/../.."])
def test_a_fleet_folder_that_a_url_would_lose_is_refused(tmp_path: Path, jenkins_env: JenkinsEmulator,
                                                         folder: str, capsys: pytest.CaptureFixture[str]) -> None:
    jenkins_env.create_job("app0", script="pipeline { /* unmanaged, at the root */ }")
    fleet = local_fleet(tmp_path, {"app0": manifest("app0", folder=None)},
                        f"id: ml\ndefaults:\n  jenkins: {{folder: '{folder}'}}\n")
    assert main(["sync", "--fleet", str(fleet), "--no-progress"]) == 1
    assert "fleet.yaml:4:" in capsys.readouterr().err
    assert jenkins_env.requests == [] and "unmanaged" in jenkins_env.config_xml("app0")


@pytest.mark.parametrize("segment", ["", ".", "..", "x.", " x", "x ", "a\x00", "a\tb", "a?b", "a%2F"])
def test_every_bad_path_segment_is_named(segment: str) -> None:
    from ci_gen.targets.jenkins.placement import path_problem, place

    assert path_problem(f"ml/{segment}/job") is not None
    with pytest.raises(UserError):
        place(None, f"ml/{segment}", "job")


def test_a_manifest_folder_ending_in_a_dot_fails_before_any_write(tmp_path: Path, jenkins_env: JenkinsEmulator) -> None:
    fleet = local_fleet(tmp_path, {"app0": manifest("app0", folder="ml/x."), "app1": manifest("app1")}, ML)
    report = tmp_path / "r.json"
    assert sync(fleet, report) == 1
    assert "ends with '.'" in str(projects(report)["path:repos/app0"]["error"])
    assert jenkins_env.count("POST", r"job/x") == 0 and "ml/app1" in jenkins_env.job_names()


def test_a_400_from_create_item_is_an_error_not_exists(tmp_path: Path, jenkins_env: JenkinsEmulator) -> None:
    """The job appears between the tree query and the create (a person, another tool): the 400
    "already exists" must not turn into a reconfigure of a job that is not ours."""
    jenkins_env.create_folder("ml")
    jenkins_env.create_job("ml/app0", script="pipeline { /* made by hand a moment ago */ }")
    # The tree query answered before the job was made: only the empty folder.
    jenkins_env.inject("GET", r"^/api/json$", times=1, status=200,
                       body={"_class": "hudson.model.Hudson", "jobs": [{"_class": FOLDER, "name": "ml", "jobs": []}]})
    fleet = local_fleet(tmp_path, {"app0": manifest("app0"), "app1": manifest("app1")}, ML)
    report = tmp_path / "r.json"
    assert sync(fleet, report) == 1
    error = str(projects(report)["path:repos/app0"]["error"])
    assert "400" in error and "already exists" in error
    assert "made by hand" in jenkins_env.config_xml("ml/app0")
    assert jenkins_env.count("POST", r"job/app0/config\.xml") == 0


def test_a_retried_create_that_had_succeeded_still_converges(tmp_path: Path, jenkins_env: JenkinsEmulator) -> None:
    """A 400 for a job that is exactly what this POST wanted (the first attempt went through,
    its answer was lost) is success: the proof is the live config, not the status code."""
    fleet = local_fleet(tmp_path, {"app0": manifest("app0")}, ML)
    assert sync(fleet) == 0
    made = jenkins_env.config_xml("ml/app0")
    jenkins_env.item("ml").children.clear()
    jenkins_env.inject("GET", r"^/api/json$", times=1, status=200,
                       body={"_class": "hudson.model.Hudson", "jobs": [{"_class": FOLDER, "name": "ml", "jobs": []}]})
    jenkins_env.item("ml").add(Item("app0", parse_config(made.encode())))
    assert sync(fleet) == 0
    assert sync(fleet, check=True) == 0


@pytest.mark.parametrize("made_by_hand, code", [("folder", 0), ("job", 1)])
def test_a_400_creating_a_folder_is_done_only_when_a_folder_is_there(
        tmp_path: Path, jenkins_env: JenkinsEmulator, made_by_hand: str, code: int) -> None:
    """Two shards creating the same folder: the loser's 400 is fine once the folder is seen;
    a job squatting the folder's name is an error, not a folder."""
    if made_by_hand == "folder":
        jenkins_env.create_folder("ml")
    else:
        jenkins_env.create_job("ml", script="pipeline { /* squatter */ }")
    jenkins_env.inject("GET", r"^/api/json$", times=1, status=200, body={"_class": "hudson.model.Hudson", "jobs": []})
    assert sync(local_fleet(tmp_path, {"app0": manifest("app0")}, ML)) == code
    assert ("ml/app0" in jenkins_env.job_names()) == (code == 0)


def test_prune_without_a_fleet_is_a_usage_error(tmp_path: Path, jenkins_env: JenkinsEmulator,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path / "ci-gen.yaml", manifest("solo"))
    assert main(["sync", "-C", str(tmp_path), "--prune", "--no-progress"]) == 2
    assert "--prune needs --fleet" in capsys.readouterr().err
    assert jenkins_env.requests == []
