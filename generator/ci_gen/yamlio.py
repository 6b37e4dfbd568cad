"""Reading YAML input files safely, keeping line/column positions for error messages.

Inputs come from repositories we do not control, so size, encoding, nesting depth and alias
expansion are bounded before anything else looks at the data (see docs/security.md, "Parser
limits").
"""
from __future__ import annotations

import re
import stat
import threading
from pathlib import Path
from typing import Any

from .errors import ManifestError, Problem
from .yamlints import SpelledInt, constructor_class, describe
from .yamllimits import C_LOADER_MAX_BOUND, MAX_DEPTH, depth_problem_message, limited_composer, nesting_bound

MAX_BYTES = 1024 * 1024  # a manifest is a few KB; anything this big is a mistake or an attack
MAX_NODES = 20_000  # bounds alias expansion ("billion laughs") when converting to plain data
MAX_EXPANDED_CHARS = 1024 * 1024  # text once aliases are expanded: what a render could write


class Document:
    """A parsed YAML file: the plain data, and on demand the ruamel tree that knows positions.

    Valid files (the common case) are read with ruamel's C loader, several times faster than its
    pure-Python round-trip loader; the round-trip tree is built only when a problem must be located.
    """

    def __init__(self, file: str, data: Any, text: str, tree: Any = None) -> None:
        self.file = file
        self.data = data
        self._text = text
        self._tree = tree

    @property
    def tree(self) -> Any:
        if self._tree is None:
            self._tree = _load_round_trip(self._text, self.file)
        return self._tree

    def position(self, path: tuple[str | int, ...]) -> tuple[int, int]:
        """1-based (line, column) of the node at `path`, or of its nearest existing parent."""
        return locate(self.tree, path)


def read_text(path: Path, display: str) -> str:
    """Read a small UTF-8 text file, turning every way it can be unreadable into a Problem."""
    def fail(message: str) -> ManifestError:
        return ManifestError([Problem(display, 1, 1, "", message)])

    if path.is_dir():
        raise fail("is a directory, expected a YAML file")
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):  # a FIFO or /dev/zero (a committed symlink can point there) never ends
            raise fail("not a regular file, expected a YAML file")
        if info.st_size > MAX_BYTES:
            raise fail(f"file is {info.st_size:,} bytes; the limit is {MAX_BYTES:,}")
        with path.open("rb") as handle:
            raw = handle.read(MAX_BYTES + 1)  # bounded even if the file grows after stat
    except FileNotFoundError:
        raise fail("file not found") from None
    except OSError as exc:
        raise fail(f"cannot read: {exc.strerror}") from None
    return decode(raw, display)


def decode(raw: bytes, display: str) -> str:
    if len(raw) > MAX_BYTES:
        raise ManifestError([Problem(display, 1, 1, "", f"file is {len(raw):,} bytes; the limit is {MAX_BYTES:,}")])
    if b"\x00" in raw:
        raise ManifestError([Problem(display, 1, 1, "", "binary file (NUL bytes), expected YAML text")])
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ManifestError([Problem(display, line, 1, "", "not UTF-8 text")]) from None


def parse(text: str, display: str) -> Document:
    """Parse YAML text (duplicate keys rejected; size, depth and alias expansion bounded) into a
    Document. Every reader of a manifest or fleet file comes through here."""
    _check_text(text, display)
    data = _fast_load(text, display) if nesting_bound(text) <= C_LOADER_MAX_BOUND else None
    if data is not None:
        return Document(display, data, text)
    tree = _load_round_trip(text, display)
    try:
        data = to_plain(tree, display)
    except RecursionError:
        raise ManifestError([Problem(display, 1, 1, "", depth_problem_message())]) from None
    return Document(display, data, text, tree)


def _check_text(text: str, display: str) -> None:
    """The limits `decode` applies to bytes, for text that arrived as a str (the library API)."""
    size = len(text)  # characters: a lower bound of the UTF-8 size, and exact for ASCII
    if MAX_BYTES // 4 < size <= MAX_BYTES:
        size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_BYTES:
        raise ManifestError([Problem(display, 1, 1, "", f"file is {size:,} bytes; the limit is {MAX_BYTES:,}")])
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise ManifestError([Problem(display, line, 1, "", "binary file (NUL bytes), expected YAML text")])


def _fast_load(text: str, display: str) -> Any:
    """Plain data via the C loader, or None when it is unavailable or the input is not clean
    (any error, a non-string key, a limit reached): the round-trip loader then finds and locates
    the problem. Only called on text whose nesting bound is small: deeper input crashes it."""
    from ruamel.yaml.error import YAMLError

    yaml = _c_loader()
    if yaml is None:
        return None  # no C extension here: the pure safe loader would be no faster than round-trip
    try:
        data = to_plain(yaml.load(text), display)
    except (YAMLError, ManifestError, RecursionError, ValueError, TypeError):
        return None
    return data if isinstance(data, dict) else None


_SURROGATE = re.compile("[\ud800-\udfff]")
_LOADERS = threading.local()  # a YAML() costs as much to set up as a small load; one per thread


def _c_loader() -> Any:
    loader = getattr(_LOADERS, "c", False)
    if loader is False:
        from ruamel.yaml import YAML
        from ruamel.yaml.constructor import SafeConstructor
        from ruamel.yaml.main import CParser  # type: ignore[attr-defined]  # None without the C extension

        loader = YAML(typ="safe", pure=False)
        loader.Constructor = constructor_class(SafeConstructor)
        loader = loader if CParser is not None and loader.Parser is CParser else None
        _LOADERS.c = loader
    return loader


def _load_round_trip(text: str, display: str) -> Any:
    from ruamel.yaml import YAML
    from ruamel.yaml.constructor import RoundTripConstructor
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    yaml = YAML(typ="rt", pure=True)
    yaml.allow_duplicate_keys = False
    yaml.Composer = limited_composer()
    yaml.Constructor = constructor_class(RoundTripConstructor)
    try:
        tree = yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        message = _first_line(exc.problem or exc.context or "invalid YAML")
        if message.startswith("but ") and exc.context:  # "but found another document" needs its context
            message = f"{_first_line(exc.context)}, {message}"
        if "duplicate key" in str(exc):
            message = "duplicate key " + _duplicate_key_name(str(exc))
        else:
            from .hints import yaml_message

            line, col, message = yaml_message(exc) or (line, col, message)
        raise ManifestError([Problem(display, line, col, "", message)]) from None
    except YAMLError as exc:
        raise ManifestError([Problem(display, 1, 1, "", _first_line(str(exc)))]) from None
    except RecursionError:  # a backstop: the composer refuses depth past MAX_DEPTH first
        raise ManifestError([Problem(display, 1, 1, "", depth_problem_message())]) from None
    if tree is None:
        raise ManifestError([Problem(display, 1, 1, "", "empty file, expected a YAML mapping")])
    return tree


def to_plain(node: Any, display: str) -> Any:
    """Convert a loaded tree into dicts/lists/scalars, refusing what must not reach a template.

    Aliases are expanded here, each time they are used, so this is where expansion is bounded:
    by node count (a billion tiny laughs) and by characters of text (one 500 KB string aliased a
    thousand times is 500 MB of output once rendered), and by depth (aliases of aliases)."""
    budget = [MAX_NODES, MAX_EXPANDED_CHARS]

    def fail(container: Any, key: Any, message: str, key_of: bool = False) -> ManifestError:
        line, col = _position(container, key, key_of)
        return ManifestError([Problem(display, line, col, "", message)])

    def walk(value: Any, container: Any, key: Any, depth: int) -> Any:
        budget[0] -= 1
        if budget[0] < 0:
            raise fail(container, key, f"more than {MAX_NODES:,} YAML nodes (alias expansion?); refusing")
        if isinstance(value, (dict, list)):
            if depth > MAX_DEPTH:
                raise fail(container, key, depth_problem_message())
            if isinstance(value, list):
                return [walk(v, value, i, depth + 1) for i, v in enumerate(value)]
            plain = {}
            for k, v in value.items():
                if not isinstance(k, str):
                    # `1:`, `null:` or `0x1F:` would reach templates as non-strings (or as '31')
                    raise ManifestError([_key_problem(value, k, display)])
                spend(value, k, k, key_of=True)
                plain[str(k)] = walk(v, value, k, depth + 1)
            return plain
        if isinstance(value, str):
            spend(container, key, value)
            return str(value)  # drop ruamel's scalar-string subclasses
        if type(value).__name__ == "TaggedScalar" and str(getattr(value, "tag", "")).endswith(":str"):
            text = str(value.value)  # round-trip keeps `!!str 12` tagged; the C loader gives '12'
            spend(container, key, text)
            return text
        if isinstance(value, bool):
            return bool(value)
        if isinstance(value, SpelledInt):
            return value  # validation refuses it where a string is expected
        if isinstance(value, int):
            return int(value)
        if isinstance(value, float):
            return float(value)
        return value

    def spend(container: Any, key: Any, text: str, key_of: bool = False) -> None:
        budget[1] -= len(text)
        if budget[1] < 0:
            raise fail(container, key, f"more than {MAX_EXPANDED_CHARS:,} characters of text once aliases "
                                       "are expanded (alias expansion?); refusing", key_of=True)  # the alias's key, not its anchor
        if _SURROGATE.search(text):
            # "\ud800" in a quoted scalar: no encoder (nor GitLab's YAML parser) accepts it
            raise fail(container, key, f"{text[:40]!r}: a lone Unicode surrogate is not text", key_of)
        if "\x00" in text:
            # "\0" in a quoted scalar: C strings (shell, the JVM's environment) end at a NUL
            where = "key" if key_of else "value"
            raise fail(container, key, f"{text[:40]!r}: a NUL character is not allowed in a {where}", key_of)

    return walk(node, None, None, 1)


def _position(container: Any, key: Any, key_of: bool = False) -> tuple[int, int]:
    """1-based (line, col) of `container[key]` (or of the key itself) in a round-trip tree;
    (1, 1) for plain data."""
    lc = getattr(container, "lc", None)
    try:
        if lc is None:
            line, col = 0, 0
        elif isinstance(container, dict):
            line, col = lc.key(key) if key_of else lc.value(key)
        else:
            line, col = lc.item(key)
    except (AttributeError, KeyError, IndexError, TypeError):
        line, col = 0, 0
    return line + 1, col + 1


def _key_problem(mapping: Any, key: Any, display: str) -> Problem:
    try:
        line, col = mapping.lc.key(key)
    except (AttributeError, KeyError, TypeError):
        line, col = 0, 0
    shown = describe(key)
    text = shown if len(shown) <= 40 else shown[:37] + "..."
    return Problem(display, line + 1, col + 1, "", f"key {text} is not a string; quote it")


def locate(tree: Any, path: tuple[str | int, ...]) -> tuple[int, int]:
    line, col = 0, 0
    node = tree
    for part in path:
        lc = getattr(node, "lc", None)
        if lc is None:
            break
        try:
            if isinstance(node, dict) and part in node:
                line, col = lc.key(part)
            elif isinstance(node, list) and isinstance(part, int) and part < len(node):
                line, col = lc.item(part)
            else:
                line, col = lc.line, lc.col
                break
            node = node[part]
        except (KeyError, IndexError, TypeError, AttributeError):
            break
    else:
        lc = getattr(node, "lc", None)
        if not path and lc is not None:
            line, col = lc.line, lc.col
    return line + 1, col + 1


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else "invalid YAML"


def _duplicate_key_name(text: str) -> str:
    import re

    found = re.search(r'found duplicate key "([^"]*)"', text)
    return f"'{found.group(1)}'" if found else ""
