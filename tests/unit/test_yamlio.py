"""yamlio.py: reading untrusted YAML into plain data with positions. Decoding, the fast and the
round-trip loader agreeing, locating a path for an error message, and the problems it refuses
with their line and column. (Depth and alias limits: tests/hostile/test_parser.py.)"""
from __future__ import annotations

from pathlib import Path

import pytest

from ci_gen.errors import ManifestError
from ci_gen.yamlio import decode, locate, parse, read_text, to_plain

TEXT = """\
version: 1
name: app
deploy:
  environments:
    - name: staging
      replicas: 2
    - {name: production, gpu: 1}
"""


def problem(exc: pytest.ExceptionInfo[ManifestError]) -> str:
    [only] = exc.value.problems
    return str(only)


def test_decode_strips_a_bom_and_refuses_nul_and_non_utf8_with_the_line() -> None:
    assert decode(b"\xef\xbb\xbfa: 1\n", "f.yaml") == "a: 1\n"
    with pytest.raises(ManifestError) as nul:
        decode(b"a: 1\x00\n", "f.yaml")
    assert problem(nul) == "f.yaml:1:1: binary file (NUL bytes), expected YAML text"
    with pytest.raises(ManifestError) as latin:
        decode(b"a: 1\nb: caf\xe9\n", "f.yaml")
    assert problem(latin) == "f.yaml:2:1: not UTF-8 text"


def test_read_text_turns_every_unreadable_file_into_a_problem(tmp_path: Path) -> None:
    (tmp_path / "ok.yaml").write_text("a: 1\n")
    assert read_text(tmp_path / "ok.yaml", "ok.yaml") == "a: 1\n"
    for path, words in ((tmp_path, "is a directory"), (tmp_path / "none.yaml", "file not found")):
        with pytest.raises(ManifestError) as caught:
            read_text(path, "shown.yaml")
        suffix = ", expected a YAML file" if "directory" in words else ""
        assert problem(caught) == f"shown.yaml:1:1: {words}{suffix}"


def test_both_loaders_give_the_same_plain_data() -> None:
    fast = parse(TEXT, "f.yaml")
    slow = to_plain(fast.tree, "f.yaml")  # the round-trip tree, built only on demand
    assert fast.data == slow == {"version": 1, "name": "app", "deploy": {"environments": [
        {"name": "staging", "replicas": 2}, {"name": "production", "gpu": 1}]}}
    assert type(fast.data["name"]) is str and type(slow["deploy"]["environments"][1]["gpu"]) is int


def test_positions_point_at_the_key_or_its_nearest_parent() -> None:
    doc = parse(TEXT, "f.yaml")
    assert doc.position(("name",)) == (2, 1)
    assert doc.position(("deploy", "environments", 0, "replicas")) == (6, 7)
    assert doc.position(("deploy", "environments", 1, "gpu")) == (7, 26)
    assert doc.position(("deploy", "environments", 1, "missing")) == (7, 7)  # the mapping it would be in
    assert doc.position(("deploy", "environments", 5)) == (5, 5)  # no such item: the list itself
    assert locate(doc.tree, ()) == (1, 1)


@pytest.mark.parametrize("text, expected", [
    ("a: 1\na: 2\n", "f.yaml:2:1: duplicate key 'a'"),
    ("a: 1\n1: x\n", "f.yaml:2:1: key 1 is not a string; quote it"),
    ("", "f.yaml:1:1: empty file, expected a YAML mapping"),
    ('a: 1\nb: "\\ud800"\n', "f.yaml:2:4: '\\ud800': a lone Unicode surrogate is not text"),
])
def test_what_parse_refuses_is_one_located_problem(text: str, expected: str) -> None:
    with pytest.raises(ManifestError) as caught:
        parse(text, "f.yaml")
    assert problem(caught) == expected


def test_a_nul_in_library_text_is_refused_on_its_line() -> None:
    with pytest.raises(ManifestError) as caught:
        parse("a: 1\nb: x\x00\n", "f.yaml")
    assert problem(caught) == "f.yaml:2:1: binary file (NUL bytes), expected YAML text"


def test_explicit_strings_stay_strings() -> None:
    assert parse("a: !!str 12\nb: '0x1F'\nc: yes\n", "f.yaml").data == {"a": "12", "b": "0x1F", "c": "yes"}
