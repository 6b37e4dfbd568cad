"""Manifest values reach GitHub workflows and CircleCI configs as data: neither `${{ }}` (GitHub
evaluates it in any value) nor `<< >>` (CircleCI parameters) survive as live syntax, and what
the CI system reads back after its own unescaping is the manifest's value."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from ruamel.yaml import YAML

from ci_gen import api
from ci_gen.templating import TemplateError, circleci_str, gha_lit, gha_str

HOSTILE = ["${{ github.token }}", "${{ secrets.X }}}}", "a ${{ '${{' }} b", "<< pipeline.id >>", "\\<< x", "${{", "$${{"]
ESCAPED_OPEN = "${{ '${{' }}"


def github_reads(text: str) -> str:
    """The value GitHub sees: the only expression left is the one that yields a literal `${{`."""
    rest = text.replace(ESCAPED_OPEN, "\0")
    assert "${{" not in rest, text
    return rest.replace("\0", "${{")


def circleci_reads(text: str) -> str:
    assert "<<" not in text.replace("\\<<", ""), text
    return text.replace("\\<<", "<<")


def yaml_value(escaped: str) -> str:
    value = YAML(typ="safe", pure=True).load(f"k: {escaped}\n")["k"]
    assert isinstance(value, str)
    return value


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_values_round_trip(value: str) -> None:
    assert github_reads(yaml_value(gha_str(value))) == value
    assert circleci_reads(yaml_value(circleci_str(value))) == value


@given(st.text(alphabet=st.sampled_from(list("${}<>\\' ab\n")), max_size=30))
def test_any_text_round_trips(value: str) -> None:
    assert github_reads(yaml_value(gha_str(value))) == value
    assert circleci_reads(yaml_value(circleci_str(value))) == value


def test_expression_literals_double_quotes_and_refuse_what_cannot_be_carried() -> None:
    assert gha_lit("it's") == "'it''s'"
    for bad in ("a}}b", "line\nbreak"):
        with pytest.raises(TemplateError):
            gha_lit(bad)


MANIFEST = """\
version: 1
name: app
targets: [github, circleci]
image: {name: registry.example.com/ml/app}
test: [{name: t, run: "echo ${{ secrets.GITHUB_TOKEN }} << pipeline.id >>"}]
variables: {V: "${{ github.event.issue.title }}"}
"""


def test_a_manifest_value_never_becomes_an_expression() -> None:
    files = api.render_files(MANIFEST)
    workflow = files[".github/workflows/ci-gen.yml"].decode("utf-8")
    config = files[".circleci/config.yml"].decode("utf-8")
    assert "${{ github.event" not in workflow and "${{ secrets.GITHUB_TOKEN" not in workflow
    assert "<< pipeline.id" not in config.replace("\\\\<< pipeline.id", "")
    data = YAML(typ="safe", pure=True).load(workflow)
    assert github_reads(data["env"]["V"]) == "${{ github.event.issue.title }}"
    test = YAML(typ="safe", pure=True).load(config)["jobs"]["test-t"]
    assert circleci_reads(test["environment"]["CI_GEN_TEST_COMMAND"]) == "echo ${{ secrets.GITHUB_TOKEN }} << pipeline.id >>"
