from __future__ import annotations

from pathlib import Path

import pytest

from ci_gen.errors import ManifestError
from ci_gen.sync.fleet import load_fleet
from tests.sync.helpers import write


def test_full_fleet_file_loads_with_defaults(tmp_path: Path) -> None:
    fleet = load_fleet(write(tmp_path / "fleet.yaml", """\
        version: 1
        servers:
          jenkins: {url: https://jenkins.example.com}
          gitlab: {url: https://gitlab.example.com}
        defaults:
          gitlab: {mode: commit}
          jenkins: {folder: ml, credentials_id: git-ro}
        projects:
          - gitlab: ml/fraud-detector
          - {gitlab: ml/recommender, ref: develop}
          - path: repos/legacy-app
        discover:
          - {gitlab_group: ml, exclude: [ml/sandbox]}
        """))
    assert fleet.server_url("jenkins") == "https://jenkins.example.com"
    assert fleet.gitlab.mode == "commit" and fleet.gitlab.branch == "ci-gen/sync"
    assert fleet.jenkins.folder == "ml" and fleet.jenkins.definition == "scm"
    assert [p.gitlab for p in fleet.projects] == ["ml/fraud-detector", "ml/recommender", None]
    assert fleet.projects[1].ref == "develop"
    assert str(fleet.projects[2].origin).endswith("fleet.yaml:11:5")
    assert fleet.discover[0].exclude == ("ml/sandbox",)


def test_every_problem_is_reported_with_its_position(tmp_path: Path) -> None:
    path = write(tmp_path / "fleet.yaml", """\
        version: 1
        defaults:
          gitlab: {mode: merge_request}
        projects:
          - {gitlab: ml/a, path: repos/a}
          - {gitlab: ml/b, reff: main}
        """)
    with pytest.raises(ManifestError) as caught:
        load_fleet(path)
    lines = str(caught.value).splitlines()
    assert any(line.startswith(f"{path}:3:12: defaults.gitlab.mode: ") for line in lines), lines
    assert any(line.startswith(f"{path}:5:5: projects[0]: needs exactly one of 'gitlab' or 'path'") for line in lines), lines
    assert f"{path}:6:20: projects[1].reff: unknown key 'reff' (did you mean 'ref'?)" in lines


def test_yaml_syntax_error_is_one_located_line(tmp_path: Path) -> None:
    path = write(tmp_path / "fleet.yaml", "version: 1\nprojects: [\n")
    with pytest.raises(ManifestError) as caught:
        load_fleet(path)
    assert str(caught.value).startswith(f"{path}:")
    assert len(str(caught.value).splitlines()) == 1


def test_missing_version_and_wrong_top_level(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match=r"key 'version' is required"):
        load_fleet(write(tmp_path / "a.yaml", "projects: []\n"))
    with pytest.raises(ManifestError, match="expected a mapping"):
        load_fleet(write(tmp_path / "b.yaml", "- 1\n"))


def test_a_project_listed_twice_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path / "fleet.yaml", "version: 1\nprojects:\n  - gitlab: ml/a\n  - {gitlab: ml/a, ref: dev}\n")
    expected = rf"{path}:4:5: projects\[1\]: ml/a is listed twice \(first at {path}:3:5\)"
    with pytest.raises(ManifestError, match=expected):
        load_fleet(path)
