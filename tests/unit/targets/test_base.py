"""targets/base.py and targets/schemas.py: the shared result types, and validating a committed
file against a JSON schema vendored by check-jsonschema (bounded parsing, sorted problems)."""
from __future__ import annotations

import importlib
import sys

import pytest

from ci_gen.targets import DEFAULT_TARGETS, TARGETS
from ci_gen.targets.base import Change, LintResult
from ci_gen.targets.schemas import InvalidYaml, load_yaml, schema_problems, vendored_schema


def test_a_lint_result_is_ok_only_without_problems() -> None:
    assert LintResult("f", ()).ok
    assert LintResult("f", (), skipped="tool missing").ok  # a skip is said, not a failure
    assert not LintResult("f", ("f: 1: bad",)).ok


def test_a_change_serialises_without_its_texts() -> None:
    """--output json lists what changed; the before/after texts (diffs) stay out of it."""
    change = Change("gitlab", "variable", "TOKEN", "update", before="old", after="new")
    assert change.to_json() == {"server": "gitlab", "kind": "variable", "name": "TOKEN", "action": "update"}
    assert Change("jenkins", "job", "ml/app", "create", detail="multibranch").to_json()["detail"] == "multibranch"


def test_load_yaml_reads_plain_data_and_refuses_what_is_not_yaml() -> None:
    assert load_yaml("f.yml", "a: [1, {b: c}]\n") == {"a": [1, {"b": "c"}]}
    with pytest.raises(InvalidYaml) as caught:
        load_yaml("f.yml", "a: [1\n")
    assert str(caught.value).startswith("f.yml: invalid YAML: ") and "\n" not in str(caught.value)


def test_load_yaml_bounds_nesting_instead_of_recursing_without_end() -> None:
    with pytest.raises(InvalidYaml) as caught:
        load_yaml("f.yml", "a: " + "[" * 100 + "]" * 100 + "\n")
    assert str(caught.value) == "f.yml: invalid YAML: YAML nested more than 64 levels deep; refusing"


def test_schema_problems_name_the_file_and_path_sorted_by_path() -> None:
    schema = {"type": "object", "required": ["c"],
              "properties": {"b": {"type": "integer"}, "a": {"type": "array", "items": {"type": "string"}}}}
    problems = schema_problems("f.yml", {"b": "x", "a": ["ok", 3]}, schema)
    assert problems == ("f.yml: (top level): 'c' is a required property",
                        "f.yml: a.1: 3 is not of type 'string'",
                        "f.yml: b: 'x' is not of type 'integer'")
    assert schema_problems("f.yml", {"c": 1}, schema) == ()


def test_a_long_message_is_shortened_to_one_readable_line() -> None:
    [problem] = schema_problems("f.yml", "x" * 1000, {"type": "integer"})
    message = problem.removeprefix("f.yml: (top level): ")
    assert len(message) == 300 and message.endswith("...")


@pytest.mark.parametrize("name", ["gitlab-ci.json", "github-workflows.json", "circle-ci.json"])
def test_the_vendored_schemas_are_there_and_read_once(name: str) -> None:
    schema = vendored_schema(name)
    assert isinstance(schema, dict) and ("properties" in schema or "$ref" in schema or "definitions" in schema)
    assert vendored_schema(name) is schema


def test_a_registry_entry_imports_its_package_only_when_asked() -> None:
    for name, target in TARGETS.items():
        assert target.name == name and target.comment in ("#", "//")
        module = target.module
        assert module is importlib.import_module(f"ci_gen.targets.{name}")
        assert callable(module.render) and callable(module.lint)
    assert f"ci_gen.targets.{next(iter(TARGETS))}" in sys.modules
    assert DEFAULT_TARGETS == ("gitlab", "jenkins")
    assert len({t.output for t in TARGETS.values()}) == len(TARGETS)  # no two targets write one file
