"""Hints for the mistakes people make by hand: indentation, YAML 1.1 booleans, raw parser wording.

Only reached once a manifest is already known to be wrong, so nothing here is on the fast path.
"""
from __future__ import annotations

from typing import Any, Iterator

# YAML 1.1 spellings of booleans that YAML 1.2 (ruamel's default) reads as text.
_TRUTHY = {"yes": "true", "y": "true", "on": "true", "no": "false", "n": "false", "off": "false"}


def boolean_hint(value: Any, expected: Any) -> str:
    """`; write true, not yes` when a boolean field got a YAML 1.1 boolean word."""
    types = expected if isinstance(expected, list) else [expected]
    if "boolean" not in types or not isinstance(value, str):
        return ""
    word = value.strip().lower()
    if word in ("true", "false"):
        return f"; write {word} without quotes"
    if word in _TRUTHY:
        return f"; write {_TRUTHY[word]} (YAML 1.2 reads {value!r} as text, not a boolean)"
    return ""


def key_home(key: str, here: tuple[Any, ...], schema: dict[str, Any]) -> str:
    """`; 'base' belongs under image: (image.base)` when a key is known elsewhere in the manifest."""
    homes = [path for path in _paths_of(key, schema, schema, (), 0) if path[:-1] != _shape(here)]
    if not homes:
        return ""
    spelled = [_dotted(p) for p in homes[:3]]
    parents = sorted({_dotted(p[:-1]) or "the top level" for p in homes[:3]})
    return (f"; '{key}' belongs under {' or '.join(parents)} ({', '.join(spelled)}): "
            "check this line's indentation")


def _shape(path: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple("[]" if isinstance(p, int) else p for p in path)


def _dotted(path: tuple[Any, ...]) -> str:
    text = ""
    for part in path:
        text += "[]" if part == "[]" else (f".{part}" if text else str(part))
    return text


def _paths_of(key: str, node: Any, root: dict[str, Any], path: tuple[Any, ...], depth: int) -> Iterator[tuple[Any, ...]]:
    if not isinstance(node, dict) or depth > 8:
        return
    while "$ref" in node:
        node = {**root["$defs"][node["$ref"].rsplit("/", 1)[-1]], **{k: v for k, v in node.items() if k != "$ref"}}
    for branch in [*node.get("oneOf", ()), *node.get("anyOf", ())]:
        yield from _paths_of(key, branch, root, path, depth + 1)
    for name, sub in node.get("properties", {}).items():
        if name == key:
            yield path + (name,)
        yield from _paths_of(key, sub, root, path + (name,), depth + 1)
    if isinstance(node.get("items"), dict):
        yield from _paths_of(key, node["items"], root, path + ("[]",), depth + 1)


# (context, start of the parser's problem) -> (use the context's line?, what to tell a person)
_YAML_WORDING: tuple[tuple[str, str, bool, str], ...] = (
    ("while scanning a quoted scalar", "found unexpected end of stream", True,
     "a quoted string starts here and is never closed (a missing \" or ')"),
    ("while parsing a flow mapping", "expected ',' or '}'", True,
     "a '{' opened on this line is not closed with '}' (or an item lacks a ',')"),
    ("while parsing a flow sequence", "expected ',' or ']'", True,
     "a '[' opened on this line is not closed with ']' (or an item lacks a ',')"),
    ("while scanning a simple key", "could not find expected ':'", True,
     "this line is a key without ':' (write `key: value`), or a multi-line value lacks quotes"),
    ("", "expected <block end>, but found", False,
     "indentation: this line starts in a column that matches neither the keys above it nor their parent; "
     "line it up with its sibling keys"),
    ("", "mapping values are not allowed here", False,
     "unexpected ':' here: a second `key:` on one line, a line indented deeper than the key above it, "
     "or a value containing ': ' that needs quotes"),
    ("", "found character '\\t' that cannot start any token", False,
     "a tab character: YAML indents with spaces only"),
)


def yaml_message(exc: Any) -> tuple[int, int, str] | None:
    """(line, column, message) in plain words for a common ruamel parser error, else None."""
    problem, context = exc.problem or "", exc.context or ""
    for want_context, start, at_context, message in _YAML_WORDING:
        if problem.startswith(start) and (not want_context or context.startswith(want_context)):
            mark = exc.context_mark if at_context and exc.context_mark else exc.problem_mark
            if mark is None:
                return None
            return mark.line + 1, mark.column + 1, message
    return None
