"""Property tests: valid manifests full of hostile strings render into pipelines that are
deterministic, accepted by GitLab's schema and Groovy, and carry every value verbatim as data.

The JVM costs about a second per start, so Jenkinsfiles are collected while hypothesis runs and
checked in one batch (declarative lint, then the environment-block extraction) at the end.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from ci_gen.targets.gitlab.lint import lint_file as lint_gitlab
from ci_gen.targets.jenkins.lint import lint as lint_jenkins
from ci_gen.manifest import load_manifest_text
from ci_gen.generated import render_manifest
from hypothesis import HealthCheck, given, settings

from tests.core.helpers import groovy_and_java_home, libyaml_safe_loader, run_groovy
from tests.core.manifest_strategies import Expected, examples

ENV_SCRIPT = Path(__file__).with_name("EnvAssignments.groovy")
MAX_EXAMPLES = int(os.environ.get("CI_GEN_PROPERTY_EXAMPLES", "60"))


@dataclass(frozen=True)
class Case:
    text: str
    expected: Expected
    files: dict[str, bytes]


def dump(data: dict[str, Any]) -> str:
    """The manifest as YAML, every string double-quoted and escaped (ruamel's own emitter writes
    some hostile strings as plain scalars it cannot read back, e.g. `? x` in flow style)."""
    import yaml

    class Dumper(yaml.SafeDumper):
        pass

    Dumper.add_representer(str, lambda dumper, value: dumper.represent_scalar("tag:yaml.org,2002:str", value, style='"'))
    return yaml.dump(data, Dumper=Dumper, allow_unicode=False, width=1_000_000, sort_keys=False)


def gitlab_value(value: str) -> Any:
    """How .gitlab-ci.yml must hold a variable: `$` would be expanded unless marked raw."""
    return {"value": value, "expand": False} if "$" in value else value


def plain(value: Any) -> str:
    return value["value"] if isinstance(value, dict) else value


def first_convert_job(names: list[str]) -> str:
    return next(n for n in names if n.startswith("convert-"))


def check_gitlab(text: str, expected: Expected) -> None:
    from ruamel.yaml import YAML

    result = lint_gitlab(".gitlab-ci.yml", text)
    assert result.ok, "\n".join(result.problems)
    doc = YAML(typ="safe", pure=True).load(text)
    import yaml

    assert yaml.load(text, Loader=libyaml_safe_loader()) == doc, "libyaml reads the file differently"
    assert {k: v for k, v in doc["variables"].items() if not k.startswith("CI_GEN_")} == {
        k: gitlab_value(v) for k, v in expected.variables.items()}
    for job, run in expected.test_commands.items():
        assert doc[job]["variables"]["CI_GEN_TEST_COMMAND"] == gitlab_value(run)
    assert json.loads(plain(doc["build-image"]["variables"]["CI_GEN_BUILD_ARGS"])) == expected.build_args
    for job, context in expected.kube_contexts.items():
        assert doc[job]["variables"]["CI_GEN_KUBE_CONTEXT"] == gitlab_value(context)
    _check_model_path(expected, lambda job: doc[job]["variables"], list(doc), gitlab_value)


def _check_model_path(expected: Expected, env_of: Any, jobs: list[str], wrap: Any) -> None:
    if expected.model_path is None:
        return
    if expected.converts:
        assert env_of(first_convert_job(jobs))["CI_GEN_MODEL_SOURCE"] == wrap(expected.model_path)
    else:
        assert env_of("build-image")["CI_GEN_MODEL_FILE"] == wrap(expected.model_path)
    if expected.scans_model:
        assert env_of("scan-model")["CI_GEN_MODEL_SOURCE"] == wrap(expected.model_path)


def check_jenkins(found: dict[str, Any], expected: Expected) -> None:
    """`found`: EnvAssignments.groovy's view of one Jenkinsfile."""
    blocks: dict[str | None, dict[str, tuple[str, str]]] = {}
    for block in found["environment"]:
        assert all(kind in ("constant", "credentials") for _, _, kind in block["vars"]), block
        blocks[block["stage"]] = {key: (value, kind) for key, value, kind in block["vars"]}
    top = blocks[None]
    assert {k: v for k, (v, kind) in top.items() if kind == "constant" and not k.startswith("CI_GEN_")} == expected.variables
    assert {k: v for k, (v, kind) in top.items() if kind == "credentials"} == {s: s for s in expected.secrets}
    env = {stage: {k: v for k, (v, _) in values.items()} for stage, values in blocks.items()}
    for job, run in expected.test_commands.items():
        assert env[job]["CI_GEN_TEST_COMMAND"] == run
    assert json.loads(env["build-image"]["CI_GEN_BUILD_ARGS"]) == expected.build_args
    for job, context in expected.kube_contexts.items():
        assert env[job]["CI_GEN_KUBE_CONTEXT"] == context
    _check_model_path(expected, lambda job: env[job], [s for s in env if s], lambda v: v)
    bound = set(found["credentials"])
    assert bound <= set(expected.credentials.values())
    used = {"registry"} | ({"kubeconfig"} if expected.deploys else set()) | ({"cosign"} if expected.signs else set())
    assert {expected.credentials[p] for p in used if p in expected.credentials} <= bound


def test_hostile_manifests_render_deterministically_validly_and_verbatim(tmp_path: Path) -> None:
    groovy_and_java_home()  # fail early (in CI) rather than after the examples
    libyaml_safe_loader()
    cases: list[Case] = []

    @settings(max_examples=MAX_EXAMPLES, deadline=None, print_blob=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large])
    @given(examples())
    def render_one(example: tuple[dict[str, Any], Expected]) -> None:
        data, expected = example
        text = dump(data)
        files = render_manifest(load_manifest_text(text), text.encode("utf-8")).files
        again = render_manifest(load_manifest_text(text), text.encode("utf-8")).files
        assert files == again, "rendering the same manifest twice differs"
        if ".gitlab-ci.yml" in files:
            check_gitlab(files[".gitlab-ci.yml"].decode("utf-8"), expected)
        cases.append(Case(text, expected, files))

    render_one()
    jenkinsfiles = {f"case-{i}": c.files["Jenkinsfile"].decode("utf-8") for i, c in enumerate(cases)
                    if "Jenkinsfile" in c.files}
    assert jenkinsfiles, "the strategy never chose the jenkins target"
    for result in lint_jenkins(jenkinsfiles):
        assert result.ok and result.skipped is None, (result, cases[int(result.file.split("-")[1])].text)
    paths = {}
    for name, text in jenkinsfiles.items():
        paths[name] = tmp_path / f"{name}.Jenkinsfile"
        paths[name].write_text(text, encoding="utf-8")
    out = tmp_path / "environment.json"
    run_groovy(ENV_SCRIPT, [str(out), *map(str, paths.values())])
    found = json.loads(out.read_text(encoding="utf-8"))
    for name, path in paths.items():
        case = cases[int(name.split("-")[1])]
        try:
            check_jenkins(found[str(path)], case.expected)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\nmanifest:\n{case.text}") from exc
    _check_fresh_process_renders_the_same(cases, tmp_path)


FRESH_RENDER = """
import hashlib, json, sys
from pathlib import Path
from ci_gen.manifest import load_manifest_text
from ci_gen.generated import render_manifest
digests = {}
for path in sys.argv[1:]:
    raw = Path(path).read_bytes()
    files = render_manifest(load_manifest_text(raw.decode("utf-8")), raw).files
    digests[path] = {name: hashlib.sha256(data).hexdigest() for name, data in files.items()}
print(json.dumps(digests))
"""


def _check_fresh_process_renders_the_same(cases: list[Case], tmp_path: Path) -> None:
    """Another interpreter, with another hash seed, writes the same bytes (no set/dict-order leaks)."""
    import hashlib

    manifests = []
    for index, case in enumerate(cases):
        path = tmp_path / f"manifest-{index}.yaml"
        path.write_bytes(case.text.encode("utf-8"))
        manifests.append(str(path))
    seed = "1" if os.environ.get("PYTHONHASHSEED") != "1" else "2"
    proc = subprocess.run([sys.executable, "-c", FRESH_RENDER, *manifests], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "PYTHONHASHSEED": seed}, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    fresh = json.loads(proc.stdout)
    for name, case in zip(manifests, cases):
        assert fresh[name] == {file: hashlib.sha256(data).hexdigest() for file, data in case.files.items()}, case.text


@pytest.mark.parametrize("value", ["$(id)", "${X}'\"`\\\n😀", "{{ x }}{% x %}"])
def test_a_hostile_value_in_every_free_text_field_at_once(value: str, tmp_path: Path) -> None:
    """The same value everywhere, through the real CLI: validate, render, lint all succeed."""
    from ci_gen.cli import main

    # a backslash is a glob character in a model path, refused by validate (tests/invalid/path-glob-characters)
    data = {
        "version": 1, "name": "app",
        "model": {"path": "models/" + value.replace("\n", " ").replace("\\", ""), "framework": "onnx", "convert": [{"format": "onnx"}]},
        "image": {"name": "registry.example.com/ml/app", "build_args": {"ARG": value}},
        "test": [{"name": "unit", "run": value}],
        "deploy": {"environments": [{"name": "prod", "kubernetes": {"context": value, "namespace": "ml"}}]},
        "jenkins": {"credentials": {"registry": value.replace("\n", " "), "kubeconfig": value.replace("\n", " ")}},
        "variables": {"V": value}, "schedules": [{"name": value.replace("\n", " "), "cron": "0 3 * * *"}],
    }
    (tmp_path / "ci-gen.yaml").write_text(dump(data), encoding="utf-8")
    for argv in (["validate"], ["render"], ["render", "--check"], ["lint"]):
        assert main([*argv, "-C", str(tmp_path)]) == 0, argv
