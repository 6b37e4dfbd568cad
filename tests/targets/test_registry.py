"""One registry, `TARGETS`, and everything that lists CI systems agrees with it."""
from __future__ import annotations

import json
import re
from pathlib import Path

import click
import pytest
from ruamel.yaml import YAML

from ci_gen.cli import cli
from ci_gen.targets import DEFAULT_TARGETS, TARGETS

REPO = Path(__file__).resolve().parents[2]


def schema() -> dict:
    return json.loads((REPO / "schemas" / "manifest.schema.json").read_text(encoding="utf-8"))


def test_schema_target_enum_and_default_are_the_registry() -> None:
    targets = schema()["properties"]["targets"]
    assert targets["items"]["enum"] == list(TARGETS)
    assert tuple(targets["default"]) == DEFAULT_TARGETS


def test_schema_has_runner_settings_for_every_target() -> None:
    runners = schema()["$defs"]["runners"]["properties"]
    assert set(TARGETS) <= set(runners)
    for name in TARGETS:
        assert set(runners[name]["properties"]) == {"default", "gpu"}, name


@pytest.mark.parametrize("command", ["render", "init"])
def test_cli_target_choices_are_the_registry(command: str) -> None:
    option = next(p for p in cli.commands[command].params if p.name == "targets")
    assert isinstance(option.type, click.Choice)
    assert list(option.type.choices) == list(TARGETS)


def test_precommit_hook_watches_every_target_file() -> None:
    hooks = YAML(typ="safe", pure=True).load((REPO / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    pattern = re.compile(next(h for h in hooks if h["id"] == "ci-gen-render-check")["files"])
    for target in TARGETS.values():
        assert pattern.search(target.output), target.output
        assert pattern.search(f"services/app/{target.output}"), target.output
    assert not pattern.search(".github/workflows/other.yml")


def test_every_target_package_implements_the_protocol() -> None:
    for target in TARGETS.values():
        module = target.module
        assert callable(module.render) and callable(module.lint), target.name
        assert (REPO / "pipelines" / target.name).is_dir(), f"template folder pipelines/{target.name}"


def test_architecture_doc_names_every_target() -> None:
    text = (REPO / "docs" / "architecture.md").read_text(encoding="utf-8")
    for target in TARGETS.values():
        assert f"`{target.output}`" in text, target.output
