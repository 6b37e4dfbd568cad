"""Whatever a pipeline file says, `import` drafts a manifest that validates, or reports a located
problem: never a crash, never an invalid draft. Pipelines are generated from command templates
filled with arbitrary text (quotes, `$`, newlines, control characters, Groovy and YAML syntax)."""
from __future__ import annotations

import json
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ci_gen.errors import ManifestError
from ci_gen.importer import draft, gitlab_ci_file, jenkinsfile
from ci_gen.manifest import load_manifest_text

TEXT = st.text(st.characters(min_codepoint=1, max_codepoint=0x3000, exclude_categories=("Cs",)), max_size=30)
WORD = st.one_of(TEXT, st.sampled_from(["main", "prod", "registry.example.com/a/b:1", "$X", "${Y}", "gpu", "-n", "."]))
COMMANDS = ["docker build -t {} {}", "kubectl apply -n {} -f {}", "pytest {} {}", "trivy image --severity {} {}",
            "helm upgrade --install {} --namespace {}", "kubectl --context {} rollout status --timeout={}",
            "docker run --gpus all {} pytest {}", "{} {}", "grype {} --fail-on {}", "cosign sign {} {}"]
COMMAND = st.builds(lambda template, a, b: template.format(a, b), st.sampled_from(COMMANDS), WORD, WORD)
JOB = st.fixed_dictionaries({"script": st.lists(COMMAND, min_size=1, max_size=4)}, optional={
    "environment": WORD, "when": st.sampled_from(["manual", "always"]), "tags": st.lists(WORD, max_size=3),
    "rules": st.lists(st.fixed_dictionaries({"if": st.builds("$CI_COMMIT_BRANCH == {!r}".format, WORD)}), max_size=2),
    "variables": st.dictionaries(WORD, WORD, max_size=2)})
PIPELINE = st.fixed_dictionaries({"variables": st.dictionaries(WORD, WORD, max_size=3)},
                                 optional={"default": st.fixed_dictionaries({"tags": st.lists(WORD, max_size=2)})})
JOBS = st.dictionaries(WORD.filter(lambda k: k not in gitlab_ci_file._GLOBAL_KEYS), JOB, min_size=1, max_size=4)


def groovy_string(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n") + "'"


def jenkinsfile_text(stages: list[tuple[str, list[str], str | None, bool]], env: dict[str, str]) -> str:
    lines = ["pipeline {", "  agent { label " + groovy_string(next(iter(env), "linux")) + " }", "  environment {"]
    lines += [f"    {k} = {groovy_string(v)}" for k, v in env.items()]
    lines += ["  }", "  stages {"]
    for name, steps, branch, gate in stages:
        lines.append(f"    stage({groovy_string(name)}) {{")
        if branch is not None:
            lines.append(f"      when {{ branch {groovy_string(branch)} }}")
        if gate:
            lines.append("      input { message 'go?' }")
        lines.append("      steps {")
        lines += [f"        sh {groovy_string(step)}" for step in steps]
        lines += ["      }", "    }"]
    lines += ["  }", "}"]
    return "\n".join(lines) + "\n"


def check(files: dict[str, str], reader: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for name, text in files.items():
            (root / name).write_text(text, encoding="utf-8")
        try:
            facts = gitlab_ci_file.read(root) if reader == "gitlab" else jenkinsfile.read(root)
        except ManifestError as exc:  # unreadable input: located, like every user error
            assert all(p.line >= 1 for p in exc.problems)
            return
        result = draft.build([facts], root)
        load_manifest_text(result.text, "ci-gen.yaml", root)
        header = result.text.split("\nversion: 1\n", 1)[0]
        assert all(line.startswith("#") for line in header.splitlines())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(PIPELINE, JOBS)
def test_any_gitlab_pipeline_drafts_a_valid_manifest(top: dict[str, object], jobs: dict[str, object]) -> None:
    check({".gitlab-ci.yml": json.dumps({**top, **jobs})}, "gitlab")  # JSON is YAML


ENV_NAME = st.from_regex(r"\A[A-Za-z_][A-Za-z0-9_]{0,10}\Z")
STAGE = st.tuples(TEXT, st.lists(COMMAND, min_size=1, max_size=3), st.one_of(st.none(), WORD), st.booleans())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(STAGE, min_size=1, max_size=4), st.dictionaries(ENV_NAME, WORD, max_size=3))
def test_any_declarative_jenkinsfile_drafts_a_valid_manifest(stages: list[tuple[str, list[str], str | None, bool]],
                                                            env: dict[str, str]) -> None:
    check({"Jenkinsfile": jenkinsfile_text(stages, env)}, "jenkins")


GROOVYISH = st.lists(st.sampled_from(["pipeline", "{", "}", "(", ")", "[", "]", "stage", "'x'", '"""', "'''", "/*",
                                      "*/", "//", "\n", "sh", "=", ":", ",", "steps", "stages", "@", "when", "branch",
                                      "input", "agent", "label", "environment", "credentials", "\\", "$"]),
                     max_size=60).map(" ".join)
YAMLISH = st.lists(st.sampled_from(["a:", "  script:", "    - docker build -t x .", "&a", "*a", "<<: *a", "!reference",
                                    "[", "]", "{", "}", "include:", "  - local: a.yml", "extends: a", "- ", "'", '"',
                                    "\n", "  ", "rules:", "variables:", "?", "|", ">"]), max_size=40).map(" ".join)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(GROOVYISH, TEXT))
def test_any_text_as_jenkinsfile_is_a_draft_or_a_located_error(text: str) -> None:
    check({"Jenkinsfile": text}, "jenkins")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(YAMLISH, TEXT))
def test_any_text_as_gitlab_ci_is_a_draft_or_a_located_error(text: str) -> None:
    check({".gitlab-ci.yml": text, "a.yml": text}, "gitlab")
