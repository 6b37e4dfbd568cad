"""The parts of sync that need no server: XML, hashes, blob ids, actions, sharding, reports."""
from __future__ import annotations

import json
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from ci_gen.targets.gitlab.server_files import Blob, blob_id, file_actions, tree_id
from ci_gen.redaction import public_url, register, scrub
from ci_gen.targets.jenkins.job_xml import JobSpec, config_digest, job_xml, read_marker, semantic
from ci_gen.errors import ServerError, UsageError
from ci_gen.targets.base import Change
from ci_gen.targets.sync_data import ProjectResult, Source
from ci_gen.sync.options import parse_shard
from ci_gen.sync.report import to_json, write_junit
from ci_gen.sync.sources import shard
from tests.tools import require

SPEC = JobSpec("ml/fraud", "gitlab:ml/fraud", "ml-fleet", "scm", repo_url="https://g/ml/fraud.git",
               branch="main", credentials_id="git-ro", crons=("0 3 * * *",))


def test_job_xml_records_its_own_hash_and_is_deterministic() -> None:
    xml, digest = job_xml(SPEC)
    assert job_xml(SPEC) == (xml, digest)
    root = ET.fromstring(xml.encode())
    marker = read_marker(root.findtext("description"))
    assert marker is not None and (marker.fleet, marker.project, marker.digest) == ("ml-fleet", "gitlab:ml/fraud", digest)
    assert config_digest("ML/Fraud", "ml-fleet", xml) == digest  # names compare as Jenkins does
    other, other_digest = job_xml(JobSpec(**{**SPEC.__dict__, "branch": "develop"}))
    assert other_digest != digest and "*/develop" in other
    # the same config under another name or fleet is not this job
    assert config_digest("ml/fraud-copy", "ml-fleet", xml) != digest
    assert config_digest("ml/fraud", "other-fleet", xml) != digest


def test_inline_script_is_escaped_and_survives_a_round_trip() -> None:
    script = "pipeline { agent any; stages { stage('a') { steps { sh 'echo \"<$x>\" && true' } } } }"
    xml, _ = job_xml(JobSpec("p", "k", "default", "inline", script=script))
    assert semantic(xml)["script"] == script
    assert semantic(xml)["definition"].endswith("CpsFlowDefinition")


def test_semantic_ignores_jenkins_reserialisation_but_not_edits() -> None:
    xml, _ = job_xml(SPEC)
    reserialised = xml.replace("<flow-definition>", '<flow-definition plugin="workflow-job@1520">')
    assert semantic(reserialised) == semantic(xml)
    assert semantic(xml.replace("*/main", "*/hacked")) != semantic(xml)


def test_unmanaged_description_has_no_marker() -> None:
    assert read_marker("a job someone made by hand") is None
    assert read_marker(None) is None
    assert read_marker("[ci-gen managed] sha256:" + "0" * 64) is None  # an older ci-gen's: no fleet


def test_blob_id_matches_git(tmp_path: Path) -> None:
    git = require("git", "apt-get install -y git")
    content = b"#!/bin/sh\necho hi\n\x00binary too"
    (tmp_path / "f").write_bytes(content)
    expected = subprocess.run([git, "hash-object", str(tmp_path / "f")], capture_output=True,
                              text=True, check=True).stdout.strip()
    assert blob_id(content) == expected


def test_tree_id_matches_git(tmp_path: Path) -> None:
    git = require("git", "apt-get install -y git")
    files = {".ci-gen/steps/run": b"#!/bin/sh\necho run\n", ".ci-gen/steps/_lib.py": b"x = 1\n",
             ".ci-gen/k8s/deploy.yaml": b"kind: Deployment\n", ".ci-gen/lock.json": b"{}\n",
             ".ci-gen/steps-extra": b"a file sorting between 'steps' and 'steps/'\n"}
    for path, content in files.items():
        target = tmp_path / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
        target.chmod(0o755 if content.startswith(b"#!") else 0o644)

    def run(*args: str) -> str:
        return subprocess.run([git, "-C", str(tmp_path), *args], capture_output=True, text=True,
                              check=True).stdout.strip()
    run("init", "-q")
    run("add", "-A")
    run("write-tree")
    assert tree_id(files, ".ci-gen/") == run("rev-parse", f"{run('write-tree')}:.ci-gen")


def test_file_actions_touch_only_what_differs() -> None:
    files = {".gitlab-ci.yml": b"a\n", "Jenkinsfile": b"b\n", ".ci-gen/steps/x": b"#!/bin/sh\n"}
    tree = {".gitlab-ci.yml": Blob(blob_id(b"a\n"), "100644"), "Jenkinsfile": Blob(blob_id(b"old"), "100644"),
            ".ci-gen/steps/old": Blob("0" * 40, "100644"), "README.md": Blob("1" * 40, "100644")}
    actions = file_actions(files, tree)
    assert [(a["action"], a["file_path"]) for a in actions] == [
        ("create", ".ci-gen/steps/x"), ("update", "Jenkinsfile"), ("delete", ".ci-gen/steps/old")]
    assert actions[0]["execute_filemode"] is True and actions[1]["execute_filemode"] is False
    assert file_actions(files, {p: Blob(blob_id(c), "100644") for p, c in files.items()}) == []


def test_shards_partition_the_fleet_stably() -> None:
    sources = [Source(key=f"gitlab:g/p{i}", origin="f") for i in range(200)]
    parts = [shard(sources, i, 4) for i in range(1, 5)]
    assert sorted(s.key for part in parts for s in part) == sorted(s.key for s in sources)
    assert all(20 < len(part) < 80 for part in parts)
    grown = sources + [Source(key="gitlab:g/new", origin="f")]
    assert {s.key for s in shard(grown, 2, 4)} - {"gitlab:g/new"} == {s.key for s in parts[1]}


def test_shard_option_parsing() -> None:
    assert parse_shard("2/4") == (2, 4) and parse_shard(" 1 / 1 ") == (1, 1)
    for bad in ("0/4", "5/4", "2", "a/b"):
        with pytest.raises(UsageError, match="expected I/N"):
            parse_shard(bad)


def test_scrub_masks_registered_secrets_in_every_form() -> None:
    register("hunter22/x")
    assert scrub("a hunter22/x b hunter22%2Fx") == "a *** b ***"  # also as a URL would carry it
    register("Zq")  # too short to mask inside words: only a standalone one goes
    assert scrub("aZqa Zq.") == "aZqa ***."
    assert scrub("see https://u:p@ss@host/x and ssh://git@h") == "see https://host/x and ssh://h"
    assert public_url("https://gitlab-ci-token:tok@git.example/a.git") == "https://git.example/a.git"
    assert scrub("\x1b[31mred\x1b[0m\r\x07 ok\tok\n") == "red ok\tok\n"


def _results() -> list[ProjectResult]:
    ok = ProjectResult("gitlab:ml/a", "a", [Change("gitlab", "file", "Jenkinsfile", "update")])
    same = ProjectResult("gitlab:ml/b", "b", [Change("jenkins", "job", "ml/b", "unchanged")])
    bad = ProjectResult("gitlab:ml/c")
    bad.fail(ServerError("GitLab answered 500: boom"))
    skipped = ProjectResult("gitlab:ml/d", skipped="no ci-gen.yaml on the default branch")
    return [ok, same, bad, skipped]


def test_json_report_counts_and_lists_changes() -> None:
    data = json.loads(json.dumps(to_json(_results(), "apply", 1.5)))
    assert data["summary"] == {"created": 0, "updated": 1, "unchanged": 1, "failed": 1, "skipped": 1}
    assert data["projects"][0]["changes"] == [
        {"server": "gitlab", "kind": "file", "name": "Jenkinsfile", "action": "update"}]


def test_junit_report_is_valid_and_marks_failures(tmp_path: Path) -> None:
    write_junit(tmp_path / "r.xml", _results(), 2.0)
    suite = ET.parse(tmp_path / "r.xml").getroot()
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("4", "1", "1")
    failed = suite.find("testcase[@name='gitlab:ml/c']/failure")
    assert failed is not None and failed.get("message") == "GitLab answered 500: boom"
