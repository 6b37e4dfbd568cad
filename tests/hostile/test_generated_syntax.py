"""Hostile input: generated files that a real server or builder would read differently from what
the manifest says, or reject while `ci-gen lint` passes.

- Two schedules rendered two `cron()` triggers; Jenkins refuses that ("Duplicate trigger name").
- A model path reached the generated Dockerfile unescaped: `models/x LD_PRELOAD=evil.so` added
  an environment variable to the image, a newline could add an instruction.
"""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from ci_gen import api
from ci_gen.targets.jenkins.lint import lint as lint_jenkins
from tests.emulators.jenkinsfile import validate as jenkins_server_validate
from tests.tools import require, require_module

REPO = Path(__file__).resolve().parents[2]
STEPS = REPO / "shared-steps"

TWO_SCHEDULES = """\
version: 1
name: app
targets: [jenkins]
image: {name: registry.example.com/ml/app}
schedules:
  - {name: nightly, cron: "H 4 * * *"}
  - {name: weekly, cron: "H 2 * * 0"}
"""


# -- one cron trigger --------------------------------------------------------------------------

def test_two_schedules_render_one_cron_trigger_that_jenkins_accepts() -> None:
    jenkinsfile = api.render_files(TWO_SCHEDULES)["Jenkinsfile"].decode("utf-8")
    triggers = jenkinsfile.split("triggers {", 1)[1].split("}", 1)[0]
    assert triggers.count("cron(") == 1, triggers
    assert "cron('H 2 * * 0\\nH 4 * * *')" in triggers  # Jenkins reads one spec line per schedule
    assert jenkins_server_validate(jenkinsfile) == []  # the emulator's validator knows the rule
    result = lint_jenkins({"Jenkinsfile": jenkinsfile})[0]
    assert result.skipped is None and result.ok, result


def test_offline_lint_rejects_duplicate_triggers_like_jenkins() -> None:
    duplicate = ("pipeline {\n  agent any\n  triggers {\n    cron('H 2 * * 0')\n    pollSCM('H * * * *')\n"
                 "    cron('H 4 * * *')\n  }\n  stages { stage('a') { steps { echo 'x' } } }\n}\n")
    result = lint_jenkins({"Jenkinsfile": duplicate})[0]
    if result.skipped:
        pytest.skip(result.skipped)
    assert result.problems == ('Jenkinsfile:6:5: Duplicate trigger name: "cron" '
                               "(put every schedule on its own line of one cron(...))",)
    assert jenkins_server_validate(duplicate) == [
        'WorkflowScript: 6: Duplicate trigger name: "cron" @ line 6, column 5.']


# -- Dockerfile values -------------------------------------------------------------------------

def model_file_of(manifest_text: str) -> str:
    """CI_GEN_MODEL_FILE as the rendered build-image job hands it to the step."""
    plan = api.build_plan(api.load_manifest_text(manifest_text))
    build = next(job for job in plan.jobs if job.name == "build-image")
    return dict(build.env)["CI_GEN_MODEL_FILE"]


def generate(repo: Path, model_file: str, **env: str) -> subprocess.CompletedProcess[str]:
    """build-image's Dockerfile generation (the step's own function, run by bash) into repo/Dockerfile."""
    script = '. "$1/_common.sh"; . "$1/_build_backends.sh"; CONTEXT=.; generate_dockerfile Dockerfile'
    variables = {k: v for k, v in os.environ.items() if not k.startswith("CI_GEN_")}
    variables.update(CI_GEN_STEP="build-image", CI_GEN_MODEL_FILE=model_file, CI_GEN_OUT_DIR="out", **env)
    return subprocess.run(["bash", "-c", script, "build-image", str(STEPS)], cwd=repo, env=variables,
                          capture_output=True, text=True, timeout=60, check=False)


def parse(dockerfile: Path) -> tuple[list[str], dict[str, str]]:
    """(instructions, ENV variables) as dockerfile-parse reads the file."""
    parser_module = require_module("dockerfile_parse", "pip install dockerfile-parse")
    parser = parser_module.DockerfileParser(path=str(dockerfile))  # type: ignore[attr-defined]
    kinds = [i["instruction"] for i in parser.structure if i["instruction"] != "COMMENT"]
    return kinds, dict(parser.envs)


HOSTILE_NAMES = [
    "x LD_PRELOAD=evil.so",  # ENV takes several key=value pairs on one line
    'q" LD_PRELOAD="evil.so',  # a quote that would close the word
    "a$HOME${PATH}.pt",  # variables the builder would expand
    "it's \"quoted\" = 1.pt",
]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_model_path_adds_no_instruction_and_no_variable(tmp_path: Path, name: str) -> None:
    manifest = f"version: 1\nname: app\nimage: {{name: registry.example.com/ml/app}}\nmodel: {{path: {json.dumps('models/' + name)}, framework: onnx}}\n"
    model_file = model_file_of(manifest)
    assert model_file == f"models/{name}"  # no conversion: the manifest's value goes to the step
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / name).write_bytes(b"model")
    done = generate(tmp_path, model_file)
    assert done.returncode == 0, done.stderr
    kinds, variables = parse(tmp_path / "Dockerfile")
    assert kinds == ["FROM", "WORKDIR", "COPY", "COPY", "ENV", "ENV", "USER", "EXPOSE", "HEALTHCHECK"]
    assert set(variables) == {"CI_GEN_MODEL_PATH", "PORT"}, variables
    if "$" not in name:  # dockerfile-parse does not undo `\$`; buildah's reading is tested below
        assert variables["CI_GEN_MODEL_PATH"] == f"/models/{name}"


@pytest.mark.parametrize("name, why", [
    ("a\nENV LD_PRELOAD=x.so", "control character"),
    ("a\rb", "control character"),
    ("*.pt", "cannot have * ? [ or \\"),
    ("a[1].pt", "cannot have * ? [ or \\"),
    ("back\\slash.pt", "cannot have * ? [ or \\"),
])
def test_model_path_that_cannot_be_written_safely_is_refused(tmp_path: Path, name: str, why: str) -> None:
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / name).write_bytes(b"model")
    done = generate(tmp_path, f"models/{name}")
    assert done.returncode == 2, done.stdout + done.stderr
    assert why in done.stderr and not (tmp_path / "Dockerfile").exists()


def test_other_dockerfile_values_are_checked(tmp_path: Path) -> None:
    for variable, value in (("CI_GEN_IMAGE_BASE", "alpine\nENV LD_PRELOAD=/x.so"), ("CI_GEN_PORT", "8080 9090"),
                            ("CI_GEN_HEALTH_PATH", "/h\"]\nRUN id #")):
        done = generate(tmp_path, "", **{variable: value})
        assert done.returncode == 2 and variable in done.stderr, (variable, done.stderr)


@pytest.mark.heavy
def test_buildah_builds_the_hostile_name_exactly(tmp_path: Path) -> None:
    """The builder's own reading: the image has the file and exactly the variables meant."""
    buildah = require("buildah", "apt-get install buildah")
    name = "it's \"q\" $HOME x LD_PRELOAD=evil.so"
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / name).write_bytes(b"model")
    done = generate(tmp_path, f"models/{name}", CI_GEN_IMAGE_BASE="scratch")
    assert done.returncode == 0, done.stderr
    conf = tmp_path / "storage.conf"  # the test's own storage, never /var/lib/containers
    conf.write_text(f'[storage]\ndriver = "vfs"\ngraphroot = "{tmp_path / "graph"}"\nrunroot = "{tmp_path / "run"}"\n')
    env = {**os.environ, "CONTAINERS_STORAGE_CONF": str(conf)}
    tag = "localhost/ci-gen-hostile:test"
    built = subprocess.run([buildah, "bud", "--isolation", "chroot", "-q", "-f", "Dockerfile", "-t", tag, "."],
                           cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert built.returncode == 0, built.stderr  # COPY found the file under its real name
    inspected = subprocess.run([buildah, "inspect", "--type", "image", tag], env=env, capture_output=True,
                               text=True, timeout=60, check=True)
    variables = json.loads(inspected.stdout)["OCIv1"]["config"]["Env"]
    assert f"CI_GEN_MODEL_PATH=/models/{name}" in variables and "PORT=8080" in variables
    assert not any(v.startswith("LD_PRELOAD=") for v in variables), variables
