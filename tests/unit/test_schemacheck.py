"""ci_gen.schemacheck may say "valid" only where jsonschema finds no error.

The fast check lets `ci-gen validate` skip importing jsonschema; a wrong "valid" would let a bad
manifest through, so it is compared with jsonschema itself on every committed manifest and on
hypothesis-mutated ones.
"""
from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from ci_gen.errors import ManifestError
from ci_gen.schema import load_schema
from ci_gen.schemacheck import conforms
from ci_gen.yamlio import parse

REPO = Path(__file__).resolve().parents[2]
SCHEMA = load_schema("manifest")
VALIDATOR = Draft202012Validator(SCHEMA)
MANIFESTS = sorted(REPO.glob("examples/*/ci-gen.yaml")) + sorted(REPO.glob("tests/golden/*/ci-gen.yaml"))
INVALID = sorted(REPO.glob("tests/invalid/*/ci-gen.yaml"))


def load(path: Path) -> Any:
    return parse(path.read_text(encoding="utf-8"), path.name).data


def jsonschema_valid(data: Any) -> bool:
    return next(VALIDATOR.iter_errors(data), None) is None


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: p.parent.name)
def test_committed_manifests_take_the_fast_path(path: Path) -> None:
    assert conforms(load(path), SCHEMA)


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.parent.name)
def test_never_valid_where_jsonschema_finds_errors(path: Path) -> None:
    try:
        data = load(path)
    except ManifestError:  # a YAML-level case: never reaches the schema
        pytest.skip("not loadable YAML")
    if not jsonschema_valid(data):
        assert not conforms(data, SCHEMA)


@pytest.mark.parametrize(("schema", "instance", "expected"), [
    ({"enum": [1]}, True, False),  # true is not 1 in JSON
    ({"enum": [1]}, 1.0, True),  # but 1.0 is
    ({"type": "integer"}, True, False),
    ({"type": "integer"}, 2.0, False),  # valid in 2020-12, merely left to jsonschema here
    ({"type": "number"}, False, False),
    ({"uniqueItems": True}, [1, True], True),
    ({"uniqueItems": True}, [1, 1.0], False),
    ({"uniqueItems": True}, [[1], [1]], False),
    ({"pattern": "^a"}, 5, True),  # pattern applies to strings only
    ({"minimum": 3}, "x", True),
    ({"not": {}}, 1, False),  # an unknown keyword is never proven
    ({"oneOf": [{"required": ["a"]}, {"required": ["b"]}]}, {"a": 1}, True),
    ({"oneOf": [{"required": ["a"]}, {"required": ["b"]}]}, {"a": 1, "b": 2}, False),
    ({"oneOf": [{"required": ["a"]}, {"required": ["b"]}]}, {}, False),
    ({"oneOf": [{"type": "integer"}, {"minimum": 0}]}, 1, False),  # undecidable branch: unsure
    ({"$ref": "other.json#/x"}, 1, False),
    ({"additionalProperties": False, "properties": {"a": {}}}, {"a": 1, "b": 2}, False),
    ({"propertyNames": {"pattern": "^[a-z]+$"}}, {"ok": 1}, True),
    (False, 1, False),
])
def test_keyword_semantics(schema: Any, instance: Any, expected: bool) -> None:
    assert conforms(instance, schema) is expected
    if expected:
        assert next(Draft202012Validator(schema).iter_errors(instance), None) is None


SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-5, 70000), st.floats(allow_nan=False, width=32),
                    st.sampled_from(["", "main", "canry", "canary", "HIGH", "a b", "x" * 300, "../up",
                                     "registry.example.com/ml/x", "5m", "onnx", "tensorrt", "0 3 * * *"]))
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                       st.dictionaries(st.sampled_from(["name", "gpu", "x", "run"]),
                                                                       inner, max_size=3)), max_leaves=6)


def paths(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(data, dict):
        for key, value in data.items():
            found += paths(value, prefix + (key,))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            found += paths(value, prefix + (index,))
    return found


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(base=st.sampled_from(MANIFESTS), data=st.data())
def test_mutated_manifests_agree_with_jsonschema(base: Path, data: st.DataObject) -> None:
    manifest = copy.deepcopy(load(base))
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(paths(manifest)))
        if not path:
            continue
        parent = manifest
        for part in path[:-1]:
            parent = parent[part]
        action = data.draw(st.sampled_from(["replace", "delete", "add"]))
        if action == "replace":
            parent[path[-1]] = data.draw(VALUES)
        elif action == "delete" and isinstance(parent, dict):
            del parent[path[-1]]
        elif isinstance(parent[path[-1]], dict):
            parent[path[-1]][data.draw(st.sampled_from(["gpu", "nmae", "steps", "approval"]))] = data.draw(VALUES)
    if conforms(manifest, SCHEMA):
        assert jsonschema_valid(manifest), f"fast check accepted an invalid manifest: {manifest!r}"
