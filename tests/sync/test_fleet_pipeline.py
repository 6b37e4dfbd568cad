"""`ci-gen fleet-pipeline`: the platform repo's sharded, scheduled sync pipeline."""
from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from ci_gen import __version__
from ci_gen.errors import ManifestError, UserError
from ci_gen.fleet_pipeline import FleetPipelineOptions, render_fleet_pipeline, write_fleet_pipeline
from ci_gen.targets.gitlab.lint import lint_file as lint_gitlab
from tests.emulators.jenkins import JenkinsEmulator
from tests.sync.helpers import write

FLEET = "version: 1\ndiscover:\n  - {gitlab_group: ml}\n"


def test_gitlab_pipeline_is_valid_and_sharded(tmp_path: Path) -> None:
    fleet = write(tmp_path / "platform/fleets/prod.yaml", FLEET)
    files = render_fleet_pipeline(fleet, tmp_path / "platform", FleetPipelineOptions(shards=4))
    text = files[".gitlab-ci.yml"].decode()
    assert lint_gitlab(".gitlab-ci.yml", text).ok, lint_gitlab(".gitlab-ci.yml", text).problems
    data = YAML(typ="safe").load(text)
    assert data["sync"]["parallel"] == 4
    sync = shlex.split(data["sync"]["script"][0])
    assert sync[:3] == ["ci-gen", "sync", "--fleet"] and sync[3] == "fleets/prod.yaml"
    assert sync[sync.index("--shard") + 1] == "$CI_NODE_INDEX/$CI_NODE_TOTAL"
    assert "--check" in shlex.split(data["drift"]["script"][0])
    assert "--prune" in data["prune"]["script"][0] and "--shard" not in data["prune"]["script"][0]
    assert "CI_GEN_JOB == \"drift\"" in data["drift"]["rules"][0]["if"]
    report = shlex.split(data["report"]["script"][0])
    assert report[:4] == ["ci-gen", "report", "--fleet", "fleets/prod.yaml"] and "--shard" not in report
    assert report[report.index("--cache") + 1] in [p.rstrip("/") + "/report.sqlite" for p in data["report"]["cache"]["paths"]]
    assert data["report"]["before_script"] == [f"pip install --quiet 'ci-gen[report]=={__version__}'"]
    assert set(data["report"]["artifacts"]["paths"]) == {"deploy-report.html", "deploy-report.json", "deploy-report.prom"}


def test_jenkins_pipelines_pass_the_declarative_validator(tmp_path: Path) -> None:
    from tests.emulators import jenkinsfile

    fleet = write(tmp_path / "fleet.yaml", FLEET)
    files = render_fleet_pipeline(fleet, tmp_path, FleetPipelineOptions(shards=3, sync_cron="H */2 * * *"))
    for name in ("Jenkinsfile", "Jenkinsfile.drift", "Jenkinsfile.report"):
        assert jenkinsfile.validate(files[name].decode()) == [], name
    shards = re.findall(r"--shard (\d+)/3", files["Jenkinsfile"].decode())
    assert shards == ["1", "2", "3"]
    assert "cron('H */2 * * *')" in files["Jenkinsfile"].decode()


def test_validated_by_jenkins_over_http(tmp_path: Path, jenkins_server: JenkinsEmulator) -> None:
    import jenkins

    files = render_fleet_pipeline(write(tmp_path / "fleet.yaml", FLEET), tmp_path, FleetPipelineOptions())
    client = jenkins.Jenkins(jenkins_server.url, jenkins_server.user, jenkins_server.token)
    assert client.check_jenkinsfile_syntax(files["Jenkinsfile"].decode()) == []


def test_values_are_escaped_where_they_land(tmp_path: Path) -> None:
    fleet = write(tmp_path / "it's $HOME.yaml", FLEET)
    files = render_fleet_pipeline(fleet, tmp_path, FleetPipelineOptions(jenkins_label="a'b"))
    data = YAML(typ="safe").load(files[".gitlab-ci.yml"].decode())
    assert shlex.split(data["sync"]["script"][0])[3] == "it's $HOME.yaml"
    assert "label 'a\\'b'" in files["Jenkinsfile"].decode()


def test_bad_fleet_is_refused_and_files_are_written(tmp_path: Path) -> None:
    with pytest.raises(ManifestError):
        render_fleet_pipeline(write(tmp_path / "bad.yaml", "version: 2\n"), tmp_path, FleetPipelineOptions())
    written = write_fleet_pipeline(write(tmp_path / "fleet.yaml", FLEET), tmp_path / "out", FleetPipelineOptions())
    assert sorted(p.name for p in written) == [".gitlab-ci.yml", "Jenkinsfile", "Jenkinsfile.drift",
                                               "Jenkinsfile.report"]
    assert all(p.read_bytes() for p in written)


def test_the_command_names_what_it_wrote(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from ci_gen.commands import fleet_pipeline

    request = fleet_pipeline.Request(str(write(tmp_path / "fleet.yaml", FLEET)), out=str(tmp_path), shards=2)
    assert fleet_pipeline.run(request) == 0
    assert capsys.readouterr().out.count("wrote ") == 4
    assert "parallel: 2" in (tmp_path / ".gitlab-ci.yml").read_text()


def test_json_names_the_files_and_a_rerun_rewrites_its_own(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from ci_gen.commands import fleet_pipeline

    request = fleet_pipeline.Request(str(write(tmp_path / "fleet.yaml", FLEET)), out=str(tmp_path / "p"), fmt="json")
    assert fleet_pipeline.run(request) == 0
    written = json.loads(capsys.readouterr().out)["written"]
    assert sorted(Path(p).name for p in written) == [".gitlab-ci.yml", "Jenkinsfile", "Jenkinsfile.drift",
                                                     "Jenkinsfile.report"]
    assert fleet_pipeline.run(fleet_pipeline.Request(request.fleet, out=request.out, shards=3)) == 0


def test_files_written_when_the_command_was_render_fleet_are_still_its_own(tmp_path: Path) -> None:
    """A platform repository set up before the rename: its files carry the old mark, and are
    rewritten without --force (a file with neither mark still needs it)."""
    out = tmp_path / "platform"
    out.mkdir()
    (out / ".gitlab-ci.yml").write_text("# The platform repository's fleet sync, generated by `ci-gen render "
                                        "--fleet`. DO NOT EDIT.\nsync: {}\n")
    (out / "Jenkinsfile").write_text("// hand-written\n")
    fleet = write(tmp_path / "fleet.yaml", FLEET)
    with pytest.raises(UserError) as refused:
        write_fleet_pipeline(fleet, out, FleetPipelineOptions())
    assert str(refused.value).startswith("Jenkinsfile: not generated by ci-gen") and ".gitlab-ci.yml" not in str(refused.value)
    (out / "Jenkinsfile").unlink()
    write_fleet_pipeline(fleet, out, FleetPipelineOptions())
    assert "generated by `ci-gen fleet-pipeline`" in (out / ".gitlab-ci.yml").read_text().splitlines()[0]
