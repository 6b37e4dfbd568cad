"""The docs stay true to the code: the manifest reference is generated from the schema and
current, and the CLI reference names only commands and options that exist."""
from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any, Iterator

import click
import pytest

from ci_gen.cli import cli

REPO = Path(__file__).resolve().parent.parent
MANIFEST_DOC = REPO / "docs" / "manifest.md"
CLI_DOC = REPO / "docs" / "cli.md"
REFRESH = "python scripts/gen_manifest_docs.py"


def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_manifest_docs", REPO / "scripts" / "gen_manifest_docs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_manifest_reference_is_current() -> None:
    expected = generator().generate()
    actual = MANIFEST_DOC.read_text(encoding="utf-8") if MANIFEST_DOC.exists() else ""
    assert actual == expected, f"docs/manifest.md is out of date with the schema: run `{REFRESH}`"


def schema_paths(node: dict[str, Any], root: dict[str, Any], prefix: str = "") -> Iterator[str]:
    """Dotted paths of every property, `[]` marking "each item of" (as the reference writes them)."""
    node = resolve(node, root)
    for name, sub in node.get("properties", {}).items():
        path = f"{prefix}{name}"
        yield path
        sub = resolve(sub, root)
        yield from schema_paths(sub, root, f"{path}.")
        if isinstance(sub.get("items"), dict):
            yield from schema_paths(sub["items"], root, f"{path}[].")


def resolve(node: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = {**root["$defs"][node["$ref"].rsplit("/", 1)[-1]], **{k: v for k, v in node.items() if k != "$ref"}}
    return node


def test_every_schema_property_is_documented() -> None:
    schema = json.loads((REPO / "schemas" / "manifest.schema.json").read_text(encoding="utf-8"))
    text = MANIFEST_DOC.read_text(encoding="utf-8")
    paths = list(schema_paths(schema, schema))
    assert len(paths) > 40  # the walk really went into the nested sections
    missing = [p for p in paths if f"| `{p}` |" not in text]
    assert missing == [], f"not in docs/manifest.md: {missing}; run `{REFRESH}`"


def documented_commands() -> list[tuple[str, ...]]:
    """The commands docs/cli.md gives a section: `## \\`ci-gen steps list\\`` -> ('steps', 'list')."""
    text = CLI_DOC.read_text(encoding="utf-8")
    return [tuple(m.split()) for m in re.findall(r"^#+ `ci-gen ([a-z][a-z -]*)`", text, re.MULTILINE)]


def find_command(words: tuple[str, ...]) -> click.Command | None:
    command: click.Command | None = cli
    for word in words:
        if not isinstance(command, click.Group):
            return None
        command = command.commands.get(word)
    return command


def test_cli_reference_lists_only_existing_commands() -> None:
    documented = documented_commands()
    assert ("validate",) in documented and ("steps", "show") in documented
    unknown = [" ".join(words) for words in documented if find_command(words) is None]
    assert unknown == [], f"docs/cli.md documents commands the CLI does not have: {unknown}"


def test_every_command_is_mentioned_in_the_cli_reference() -> None:
    text = CLI_DOC.read_text(encoding="utf-8")
    missing = [name for name in cli.commands if f"`ci-gen {name}" not in text]
    assert missing == [], f"docs/cli.md does not mention: {missing}"


@pytest.mark.parametrize("words", documented_commands(), ids=" ".join)
def test_documented_commands_have_their_options_documented(words: tuple[str, ...]) -> None:
    command = find_command(words)
    assert command is not None
    text = CLI_DOC.read_text(encoding="utf-8")
    options = [opt for param in command.params if isinstance(param, click.Option)
               for opt in param.opts if opt.startswith("--")]
    missing = [opt for opt in options if f"`{opt}" not in text and f" {opt}" not in text]
    assert missing == [], f"docs/cli.md does not document {' '.join(words)} {missing}"
