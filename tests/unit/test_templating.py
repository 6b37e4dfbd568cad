"""templating.py: the escaping filters and the rule that nothing reaches a template's output unescaped.

Round trips go through the real parsers: ruamel and libyaml for YAML, Groovy itself (one JVM for
the whole batch) for Groovy strings, and `sh` for shell words.
"""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import jinja2
import pytest
from ci_gen import templating
from ci_gen.templating import (
    Escaped,
    TemplateError,
    environment,
    groovy_str,
    ident,
    sh_quote,
    yaml_str,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.core.helpers import libyaml_safe_loader, run_groovy
from tests.core.manifest_strategies import HOSTILE_PIECES

ANY_TEXT = st.text(st.characters(blacklist_categories=("Cs",)))  # every code point but lone surrogates
MIXED = st.one_of(ANY_TEXT, st.lists(st.sampled_from(HOSTILE_PIECES), max_size=8).map("".join))
SAMPLES = ["", "plain", "it's", 'say "hi"', "$HOME ${HOME} $(id) `id`", "{{ x }} {% x %}", "back\\slash \\n",
           "line\nbreak\ttab\rcr", "é 日本 😀 \U0010ffff", "\x00\x01\x7f\x85\u2028\ufeff", ": # - *a &a !tag",
           "null", "yes", "~", "'''", '"""', "\\u0041", "-leading dash", " padded "]


@settings(max_examples=300, deadline=None)
@given(MIXED)
def test_yaml_str_reads_back_identically_with_ruamel_and_libyaml(value: str) -> None:
    import yaml
    from ruamel.yaml import YAML

    document = f"key: {yaml_str(value)}\nlist: [{yaml_str(value)}]\n"
    assert YAML(typ="safe", pure=True).load(document) == {"key": value, "list": [value]}
    assert yaml.load(document, Loader=libyaml_safe_loader()) == {"key": value, "list": [value]}


@given(MIXED)
def test_yaml_str_is_ascii_and_one_line(value: str) -> None:
    text = str(yaml_str(value))
    assert text.isascii() and "\n" not in text and text.startswith('"') and text.endswith('"')


def test_groovy_str_evaluates_to_the_same_string_in_groovy(tmp_path: Path) -> None:
    values = SAMPLES + _generated(MIXED, 150)
    script = tmp_path / "values.groovy"
    out = tmp_path / "out.json"
    literals = ",\n".join(str(groovy_str(v)) for v in values)
    script.write_text(f"def values = [\n{literals}\n]\n"
                      f"new File(args[0]).write(groovy.json.JsonOutput.toJson(values), 'UTF-8')\n", encoding="utf-8")
    run_groovy(script, [str(out)])
    assert json.loads(out.read_text(encoding="utf-8")) == values


def _generated(strategy: st.SearchStrategy[str], count: int) -> list[str]:
    """`count` values drawn by hypothesis for a batch check that must run in one process."""
    drawn: list[str] = []

    @settings(max_examples=count, deadline=None, database=None)
    @given(strategy)
    def collect(value: str) -> None:
        drawn.append(value)

    collect()
    return drawn


@given(MIXED)
def test_groovy_str_never_leaves_a_dollar_interpolation_or_raw_control(value: str) -> None:
    text = str(groovy_str(value))
    assert text.startswith("'") and text.endswith("'") and text.isascii()
    assert all(ord(ch) >= 0x20 for ch in text)
    body = text[1:-1].replace("\\\\", "")
    assert "'" not in body.replace("\\'", "")  # every quote inside is escaped


def test_sh_quote_is_one_word_that_sh_prints_back_unchanged() -> None:
    values = [v for v in SAMPLES + _generated(MIXED, 150) if "\x00" not in v]  # argv cannot hold NUL
    words = " ".join(str(sh_quote(v)) for v in values)
    proc = subprocess.run(["sh", "-c", f"printf '%s\\0' {words}"], capture_output=True, timeout=30, check=True)
    assert proc.stdout.decode("utf-8", "surrogateescape").split("\0")[:-1] == values


@pytest.mark.parametrize("value", ["app", "deploy-prod", "CI_GEN_APP", "a.b/c_d-1"])
def test_ident_passes_safe_identifiers(value: str) -> None:
    assert ident(value) == value


@pytest.mark.parametrize("value", ["", "a b", "a:b", "${X}", "true", "Yes", "off", "NULL", "-x", "é", "a\nb", "'a'"])
def test_ident_refuses_anything_that_would_need_quoting(value: str) -> None:
    with pytest.raises(TemplateError):
        ident(value)


@pytest.mark.parametrize("template, context", [
    ("{{ x }}", {"x": "manifest value"}),
    ("{{ x }}", {"x": True}),
    ("{{ x }}", {"x": 1.5}),
    ("{{ x ~ '' }}", {"x": "$(id)"}),
    ("{{ x | join(',') }}", {"x": ["a", "b"]}),
    ("{{ x | upper }}", {"x": "a"}),
])
def test_an_unfiltered_value_is_refused(template: str, context: dict[str, object]) -> None:
    with pytest.raises(TemplateError, match="unescaped value"):
        environment().from_string(template).render(**context)


@pytest.mark.parametrize("loophole", ["safe", "escape", "e", "forceescape"])
def test_jinja_escape_hatches_are_removed(loophole: str) -> None:
    with pytest.raises(jinja2.TemplateAssertionError):
        environment().from_string(f"{{{{ x | {loophole} }}}}")


def test_filtered_values_and_layout_render() -> None:
    template = environment().from_string("{{ x | yaml_str }}, {{ x | groovy_str }} {{ x | sh_quote }} {{ n }}{{ '  ' }}")
    assert template.render(x="a'$b", n=3) == "\"a'$b\", 'a\\'$b' 'a'\"'\"'$b' 3  "


def test_a_template_file_that_forgets_a_filter_fails_naming_it(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "forgot.j2").write_text("stages:\n  - {{ stage | ident }}\napp: {{ app }}\n", encoding="utf-8")
    (tmp_path / "broken.j2").write_text("ok\n{% if x %}\n", encoding="utf-8")
    overlay = environment().overlay(loader=jinja2.FileSystemLoader(str(tmp_path)))
    monkeypatch.setattr(templating, "environment", lambda: overlay)
    with pytest.raises(TemplateError, match=r"^forgot\.j2:3: template emitted an unescaped value 'user data'"):
        templating.render_template("forgot.j2", stage="build", app="user data")
    with pytest.raises(TemplateError, match=r"^forgot\.j2:2: 'a b' is not a safe bare identifier"):
        templating.render_template("forgot.j2", stage="a b", app="x")
    with pytest.raises(TemplateError, match=r"broken\.j2:2"):
        templating.render_template("broken.j2", x=True)
    with pytest.raises(TemplateError, match=r"^forgot\.j2:3: "):  # StrictUndefined: still located
        templating.render_template("forgot.j2", stage="build")


def test_filters_return_escaped_text_that_finalize_accepts() -> None:
    for escape in (yaml_str, groovy_str, sh_quote, ident):
        assert isinstance(escape("a"), Escaped)
    with pytest.raises(TemplateError):
        yaml_str(["a list"])


def test_astral_characters_are_one_yaml_escape_not_a_surrogate_pair() -> None:
    """libyaml (GitLab's parser family) refuses JSON's surrogate pairs; YAML has `\\U`."""
    assert yaml_str("a\U0001F600") == '"a\\U0001f600"'
    assert yaml_str("\u00e9") == '"\\u00e9"'


def test_scalars_are_escaped_as_their_yaml_spelling_and_containers_refused() -> None:
    assert (yaml_str(True), yaml_str(False), yaml_str(3), yaml_str(1.5)) == ('"true"', '"false"', '"3"', '"1.5"')
    assert groovy_str(True) == "'true'" and sh_quote(0) == "0"
    for value in (None, ["a"], {"a": 1}, b"bytes"):
        with pytest.raises(TemplateError, match="cannot escape"):
            groovy_str(value)


def test_groovy_str_escapes_astral_characters_as_a_surrogate_pair() -> None:
    assert groovy_str("\U0001F600") == "'\\ud83d\\ude00'"  # Java strings are UTF-16


def test_chomp_drops_one_trailing_newline_of_macro_output_only() -> None:
    from markupsafe import Markup

    from ci_gen.templating import chomp

    assert chomp(Markup("a\n\n")) == "a\n" and chomp(Markup("a")) == "a"
    with pytest.raises(TemplateError, match="chomp takes macro output"):
        chomp("plain text\n")


def test_a_template_error_is_an_internal_error() -> None:
    assert TemplateError.exit_code == 4  # a broken template is ci-gen's bug, never the user's input
