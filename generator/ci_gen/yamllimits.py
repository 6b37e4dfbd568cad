"""Bounding how deeply a YAML text can nest, before a parser sees it.

ruamel's C loader composes nodes recursively in C: a few tens of thousands of levels (`- - - …`
on one line, `[[[…`, or indentation) overflow the C stack and kill the process with SIGSEGV,
whatever handlers Python has. So `nesting_bound` reads the raw text once, in linear time, and
returns a number the real depth can never exceed; only a small bound lets the C loader near the
text. Anything else goes to the pure-Python parser, whose composer (`limited_composer`) refuses
the 65th level with the position of the node that crossed it.

The bound must be sound, not exact: where the scan cannot be sure (is this quote the start of a
quoted scalar or part of a plain one?), it may only overestimate. An overestimate costs speed
(the pure parser); an underestimate would cost the process.
"""
from __future__ import annotations

import re
from typing import Any

MAX_DEPTH = 64  # a manifest nests a handful of levels; ruamel's pure scanner is quadratic in depth
# About 25,000 levels overflow an 8 MiB main-thread stack; 200 leave room to spare even in a
# 128 KiB thread stack (musl's default), where sync's worker threads may parse.
C_LOADER_MAX_BOUND = 200

# libyaml's line breaks beyond \n and \r, and the BOM it skips at the start of any line: a scan
# that split lines or counted columns differently from the parser could merge two of its
# columns into one, so such (rare) texts take the pure parser.
_RARE = re.compile("[\x85\u2028\u2029\ufeff]")
_INTERESTING = re.compile(r"""[\[\]{}"'#]""")
_QUOTE_MAY_OPEN_AFTER = frozenset(" \t\n\r[{,:?")  # a quoted scalar starts only after one of these


def nesting_bound(text: str, cap: int = C_LOADER_MAX_BOUND) -> int:
    """An upper bound of the node depth any YAML parser can build from `text`; once it is known
    to exceed `cap`, returns a value above `cap` without finishing the scan."""
    if _RARE.search(text):
        return cap + 1
    if "\r" in text:
        text = re.sub("\r\n?", "\n", text)  # libyaml's breaks: columns restart after either
    columns = _block_columns(text, cap)
    if 2 * columns > cap:
        return 2 * columns
    return 2 * columns + 2 * _flow_bound(text, cap // 2 - columns)


def _block_columns(text: str, cap: int) -> int:
    """How many distinct columns block collections can start at.

    libyaml opens a block level only at a column greater than the enclosing one (plus, at most,
    one indentless sequence per mapping), so block depth is at most twice this count. A block
    collection starts at a line's first token, or right after a chain of `-`, `?`, `:`
    indicators that begins the line (`- - ? - x`): after `key: `, after a tag or an anchor, and
    after `---`, libyaml allows no block collection on the same line."""
    seen: set[int] = set()
    for line in text.split("\n"):
        at = len(line) - len(line.lstrip(" \t"))
        end = len(line)
        while at < end:
            seen.add(at)
            if line[at] not in "-?:" or (at + 1 < end and line[at + 1] not in " \t"):
                break
            at += 1
            while at < end and line[at] in " \t":
                at += 1
        if 2 * len(seen) > cap:
            break
    return len(seen)


def _flow_bound(text: str, cap: int) -> int:
    """An upper bound of the flow nesting level (`[`, `{`) anywhere in `text`.

    Brackets inside quoted scalars and comments are not structure; but the scan may mistake
    where a quote starts or ends (a plain scalar can contain `it's`). So inside what it takes
    for a quote or comment it counts every opening bracket and no closing one, and afterwards
    never lets a closing bracket take the count below what it was when that region ended: any
    misreading then only overestimates. Each level counts twice in the caller: `[a: b]` nests an
    implicit mapping in the sequence."""
    level = floor = peak = 0
    pos, end = 0, len(text)
    while peak <= cap:
        match = _INTERESTING.search(text, pos)
        if match is None:
            break
        at = match.start()
        char = text[at]
        pos = at + 1
        if char in "[{":
            level += 1
            peak = max(peak, level)
            continue
        if char in "]}":
            level = max(level - 1, floor)
            continue
        before = text[at - 1] if at else "\n"
        if char == "#":
            if before not in " \t\n":
                continue  # `a#b` is plain text, not a comment
            region_end = text.find("\n", at)
        elif before in _QUOTE_MAY_OPEN_AFTER:
            region_end = _quote_end(text, at)
        else:
            continue
        region_end = end if region_end == -1 else region_end
        level += text.count("[", at, region_end) + text.count("{", at, region_end)
        peak = max(peak, level)
        floor, pos = level, region_end
    return peak


def _quote_end(text: str, at: int) -> int:
    """Index just past the quoted scalar that starts at `at`, or -1 when it never ends."""
    quote = text[at]
    pos = at + 1
    while True:
        found = text.find(quote, pos)
        if found == -1:
            return -1
        if quote == "'":
            if text.startswith("''", found):  # '' is an escaped quote
                pos = found + 2
                continue
            return found + 1
        slashes = 0
        while text[found - 1 - slashes] == "\\":
            slashes += 1
        if slashes % 2 == 0:
            return found + 1
        pos = found + 1


def depth_problem_message() -> str:
    return f"YAML nested more than {MAX_DEPTH} levels deep; refusing"


_COMPOSER: Any = None


def limited_composer() -> Any:
    """ruamel's Composer class, refusing a collection nested deeper than MAX_DEPTH.

    ruamel 0.19 has `YAML().max_depth`; 0.18 (which pyproject allows) does not, so the limit is
    kept here. Raised as a MarkedYAMLError, so the caller reports it at the node's position."""
    global _COMPOSER
    if _COMPOSER is None:
        from ruamel.yaml.composer import Composer
        from ruamel.yaml.error import MarkedYAMLError
        from ruamel.yaml.events import MappingStartEvent, SequenceStartEvent

        class DepthError(MarkedYAMLError):
            pass

        class LimitedComposer(Composer):
            _levels = 0

            def compose_node(self, parent: Any, index: Any) -> Any:
                if not self.parser.check_event(SequenceStartEvent, MappingStartEvent):
                    return super().compose_node(parent, index)
                self._levels += 1
                try:
                    if self._levels > MAX_DEPTH:
                        event = self.parser.peek_event()
                        raise DepthError(problem=depth_problem_message(), problem_mark=event.start_mark)
                    return super().compose_node(parent, index)
                finally:
                    self._levels -= 1

        _COMPOSER = LimitedComposer
    return _COMPOSER
