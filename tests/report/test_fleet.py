"""`ci-gen report --fleet`: the same fleet file as sync (GitLab-hosted manifests, local
checkouts), parallel workers, shards that partition the fleet, fleet totals and bands."""
from __future__ import annotations

from pathlib import Path

from tests.report.conftest import NOW
from tests.report.history import history, manifest, seed_gitlab, seed_jenkins

NAMES = ("alpha", "beta", "gamma", "delta")


def fleet_file(tmp_path: Path, gitlab, jenkins) -> Path:
    jenkins.create_folder("ml")
    for index, name in enumerate(NAMES):
        gitlab.add_project(f"ml/{name}", files={"ci-gen.yaml": manifest(name)})
        jenkins.create_job(f"ml/{name}", script="pipeline {}")
        items = history(10 + index * 5, NOW - 3600, seed=index + 1, app=name)
        seed_gitlab(gitlab, f"ml/{name}", items)
        seed_jenkins(jenkins, f"ml/{name}", items[:5])
    gitlab.add_project("ml/no-manifest")
    path = tmp_path / "fleet.yaml"
    path.write_text("version: 1\nprojects:\n" + "".join(f"  - gitlab: ml/{n}\n" for n in NAMES)
                    + "  - gitlab: ml/no-manifest\n", encoding="utf-8")
    return path


def test_fleet_report_covers_every_project_on_both_servers(servers, tmp_path: Path, report) -> None:
    gitlab, jenkins = servers
    fleet = fleet_file(tmp_path, gitlab, jenkins)
    code, data, err = report("--fleet", str(fleet), "--since", "30d", "--jobs", "3")
    assert code == 1, err  # one fleet entry has no manifest: a problem found, the rest reported
    assert data["skipped"] == ["gitlab:ml/no-manifest: no ci-gen.yaml, skipped"]
    got = {(p["server"], p["project"]): p["deployments"] for p in data["projects"]}
    assert got == {**{("gitlab", f"ml/{n}"): 10 + i * 5 for i, n in enumerate(NAMES)},
                   **{("jenkins", f"ml/{n}"): 5 for n in NAMES}}
    assert data["fleet"]["deployments"] == sum(got.values())
    assert sum(data["fleet"]["bands"].values()) == len(data["projects"])


def test_shards_partition_the_fleet(servers, tmp_path: Path, report) -> None:
    gitlab, jenkins = servers
    fleet = fleet_file(tmp_path, gitlab, jenkins)
    seen = []
    for index in (1, 2):
        _code, data, _err = report("--fleet", str(fleet), "--since", "30d", "--shard", f"{index}/2",
                                   "--cache", str(tmp_path / f"cache-{index}.sqlite"))
        seen += [(p["server"], p["project"]) for p in data["projects"]]
    assert sorted(seen) == sorted((s, f"ml/{n}") for n in NAMES for s in ("gitlab", "jenkins"))


def test_a_manifest_cannot_point_the_report_outside_the_fleets_folder(servers, tmp_path: Path, report) -> None:
    gitlab, jenkins = servers
    gitlab.add_project("ml/rogue", files={"ci-gen.yaml": manifest("rogue", folder="other")})
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text("version: 1\ndefaults:\n  jenkins: {folder: ml}\nprojects:\n  - gitlab: ml/rogue\n",
                     encoding="utf-8")
    code, data, err = report("--fleet", str(fleet), "--since", "30d")
    assert code == 1, err
    assert data["projects"] == []
    assert len(data["skipped"]) == 1 and "outside the fleet's folder 'ml'" in data["skipped"][0]
    assert jenkins.count("GET", r"/job/other") == 0
