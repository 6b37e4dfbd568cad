"""The one Jinja2 environment: strict undefined, and no value reaches output unescaped.

Every expression in a template must end in one of the escaping filters below, which return an
`Escaped` string. `finalize` refuses anything else, so a template that forgets to escape a
manifest value fails to render instead of emitting code built from user data.
"""
from __future__ import annotations

import json
import re
import shlex
from functools import lru_cache
from typing import Any

from markupsafe import Markup

from .data import templates_dir
from .errors import CiGenError


class Escaped(Markup):
    """Text already made safe for the place it lands in (Markup, so macro output stays safe)."""


class TemplateError(CiGenError):
    """Raised when a template is broken or emits an unescaped value: a bug in ci-gen."""

    exit_code = 4


_IDENT = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-/]*$")


_ASTRAL = re.compile("[\U00010000-\U0010FFFF]")


def yaml_str(value: Any) -> Escaped:
    """A double-quoted YAML scalar; JSON's string syntax is a subset of YAML's."""
    text = _as_text(value)
    if text.isascii() or not _ASTRAL.search(text):
        return Escaped(json.dumps(text, ensure_ascii=True))
    # JSON writes astral characters as surrogate pairs, which libyaml (GitLab's parser) refuses
    # and other parsers read as two broken characters; YAML has \U for them.
    body = "".join(f"\\U{ord(ch):08x}" if ord(ch) > 0xFFFF else json.dumps(ch, ensure_ascii=True)[1:-1] for ch in text)
    return Escaped('"' + body + '"')


def gha_str(value: Any) -> Escaped:
    """A YAML string for a GitHub Actions workflow: GitHub evaluates `${{ ... }}` anywhere in a
    value, so each `${{` becomes an expression whose result is that literal text."""
    return yaml_str(_as_text(value).replace("${{", "${{ '${{' }}"))


def gha_lit(value: Any) -> Escaped:
    """A string literal inside a GitHub expression: single-quoted, `'` doubled. Refuses line
    breaks and `}}`, which no literal can carry safely in every place an expression appears."""
    text = _as_text(value)
    if "}}" in text or any(ord(ch) < 0x20 for ch in text):
        raise TemplateError(f"{text!r} cannot be a GitHub expression literal")
    return Escaped("'" + text.replace("'", "''") + "'")


def circleci_str(value: Any) -> Escaped:
    """A YAML string for a CircleCI config: `<<` opens a parameter there, `\\<<` is a literal one."""
    return yaml_str(_as_text(value).replace("<<", "\\<<"))


def groovy_str(value: Any) -> Escaped:
    """A single-quoted Groovy string: no `$` interpolation; quotes, backslashes, controls escaped."""
    out = []
    for ch in _as_text(value):
        if ch == "\\":
            out.append("\\\\")
        elif ch == "'":
            out.append("\\'")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif ord(ch) < 0x20 or ord(ch) > 0x7E:
            out.append("\\u%04x" % ord(ch) if ord(ch) <= 0xFFFF else _surrogates(ch))
        else:
            out.append(ch)
    return Escaped("'" + "".join(out) + "'")


def sh_quote(value: Any) -> Escaped:
    """One shell word."""
    return Escaped(shlex.quote(_as_text(value)))


def ident(value: Any) -> Escaped:
    """A bare identifier (job, stage, variable names): refused unless it needs no quoting."""
    text = _as_text(value)
    if not _IDENT.match(text) or text.lower() in ("true", "false", "null", "yes", "no", "on", "off"):
        raise TemplateError(f"{text!r} is not a safe bare identifier")
    return Escaped(text)


def chomp(value: Any) -> Markup:
    """Drop the trailing newline of a macro's output (layout only; refuses unescaped text)."""
    if not isinstance(value, Markup):
        raise TemplateError(f"chomp takes macro output, got {type(value).__name__}")
    return Markup(value[:-1] if value.endswith("\n") else value)


def _surrogates(ch: str) -> str:
    code = ord(ch) - 0x10000
    return "\\u%04x\\u%04x" % (0xD800 + (code >> 10), 0xDC00 + (code & 0x3FF))


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    raise TemplateError(f"cannot escape a {type(value).__name__}")


_LAYOUT = re.compile(r"^[\s,]*$")  # indentation and separators the templates pass to macros


def _finalize(value: Any) -> Any:
    # Markup covers the filters' Escaped and the output of macros, which are templates checked
    # by this same rule. Jinja's own `safe`/`escape` filters are removed from the environment.
    if isinstance(value, Markup):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and _LAYOUT.match(value):
        return value
    raise TemplateError(f"template emitted an unescaped value {value!r}: pipe it through an escaping filter")


@lru_cache(maxsize=None)
def environment() -> Any:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir())),
        undefined=jinja2.StrictUndefined,
        finalize=_finalize,
        autoescape=True,  # so that macro output is Markup; unescaped values never get here
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    for loophole in ("safe", "escape", "e", "forceescape", "urlize", "xmlattr"):
        env.filters.pop(loophole, None)
    env.filters.update(yaml_str=yaml_str, groovy_str=groovy_str, sh_quote=sh_quote, ident=ident, chomp=chomp,
                       gha_str=gha_str, gha_lit=gha_lit, circleci_str=circleci_str)
    return env


def render_template(name: str, **context: Any) -> str:
    import jinja2

    try:
        return str(environment().get_template(name).render(**context))
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(f"{exc.filename or name}:{exc.lineno}: {exc.message}") from exc
    except jinja2.UndefinedError as exc:
        raise TemplateError(f"{_where(exc, name)}: {exc.message}") from exc
    except TemplateError as exc:  # a filter or finalize refused a value: name the template line
        raise TemplateError(f"{_where(exc, name)}: {exc}") from exc


def _where(exc: BaseException, name: str) -> str:
    """`name:line` of the template line that raised (Jinja puts template frames in tracebacks)."""
    import traceback

    lines = [f.lineno for f in traceback.extract_tb(exc.__traceback__) if f.filename.endswith(name)]
    return f"{name}:{lines[-1]}" if lines else name
