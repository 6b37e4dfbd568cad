"""Integers that YAML rewrites: `0755`, `0o755`, `0x1F`, `1_000` (and, under `%YAML 1.1`, `1:30`).

ruamel reads each as a number, so a string field that also accepts integers (a variable, a
build arg) would silently become "755", "493", "31" or "1000". Both loaders here build such a
scalar as a `SpelledInt`: an int that remembers what was written, so validation can refuse it
where a string is expected, with the same "quote it" advice floats get.
"""
from __future__ import annotations

import re
from typing import Any

_PLAIN_DECIMAL = re.compile(r"0|-?[1-9][0-9]*")  # the spellings str(int) gives back
INT_TAG = "tag:yaml.org,2002:int"


class SpelledInt(int):
    """An integer whose YAML spelling is not plain decimal; `spelling` is the text as written."""

    spelling: str

    def __new__(cls, value: int, spelling: str) -> SpelledInt:
        number = super().__new__(cls, value)
        number.spelling = spelling
        return number

    def __reduce__(self) -> tuple[Any, ...]:  # copy.deepcopy (schema defaults) keeps the spelling
        return (SpelledInt, (int(self), self.spelling))


def marked(value: Any, spelling: str) -> Any:
    """`value` (an int built from `spelling`) as a SpelledInt when the spelling is not decimal."""
    if isinstance(value, bool) or not isinstance(value, int) or _PLAIN_DECIMAL.fullmatch(spelling.strip()):
        return value
    return SpelledInt(int(value), spelling.strip())


def constructor_class(base: Any) -> Any:
    """A subclass of ruamel constructor `base` whose integers keep an unusual spelling.

    A subclass, not `base.add_constructor`: that would change every loader in the process
    (lint's GitLab-file loader among them)."""

    class SpellingConstructor(base):  # type: ignore[misc]
        def construct_yaml_int(self, node: Any) -> Any:
            return marked(super().construct_yaml_int(node), str(node.value))

    SpellingConstructor.add_constructor(INT_TAG, SpellingConstructor.construct_yaml_int)
    return SpellingConstructor


def describe(value: Any) -> str:
    """How a message names a value: a SpelledInt by what the user wrote."""
    return value.spelling if isinstance(value, SpelledInt) else repr(value)
