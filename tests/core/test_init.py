"""`ci-gen init`: answers checked as given, errors against the flags, a starter fit for its framework."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.core.helpers import assert_no_traceback, run_main, run_process


def test_a_refused_name_is_explained_and_asked_again_before_the_next_question(tmp_path: Path) -> None:
    from tests.core.terminal import converse

    root = tmp_path / "shop"
    root.mkdir()
    answers = [("Application name [shop]:", "My_App"),
               ("Application name [shop]:", "my-app"),
               ("Image repository (no tag) [registry.example.com/ml/my-app]:", "Registry/Bad"),
               ("Image repository (no tag) [registry.example.com/ml/my-app]:", ""),
               ("Model file (empty for none):", "../outside.pt"),
               ("Model file (empty for none):", "models/m.pt"),
               ("Framework (pytorch, onnx, tensorflow, sklearn) [pytorch]:", "sklearn")]
    code, transcript = converse(["init"], root, answers)
    assert code == 0, transcript
    refused_name = transcript.index("'My_App' is not allowed here (Application name: lowercase letters")
    assert refused_name < transcript.index("Image repository")  # refused at once, not after the last question
    assert "'Registry/Bad' is not allowed here" in transcript
    assert "'../outside.pt' leaves the repository" in transcript
    assert "ci-gen.yaml:" not in transcript  # no line numbers of a file the user never saw
    text = (root / "ci-gen.yaml").read_text(encoding="utf-8")
    assert 'name: "my-app"' in text and 'path: "models/m.pt"' in text and "framework: sklearn" in text
    assert run_process(["validate"], cwd=root).code == 0


def test_the_default_name_from_the_folder_is_a_valid_one(tmp_path: Path) -> None:
    from tests.core.terminal import converse

    root = tmp_path / "My_Model App"
    root.mkdir()
    answers = [("Application name [my-model-app]:", ""),
               ("Image repository (no tag) [registry.example.com/ml/my-model-app]:", ""),
               ("Model file (empty for none):", "")]
    code, transcript = converse(["init"], root, answers)
    assert code == 0, transcript
    assert 'name: "my-model-app"' in (root / "ci-gen.yaml").read_text(encoding="utf-8")


def test_flag_errors_name_every_bad_flag_once_and_write_nothing(tmp_path: Path) -> None:
    outcome = run_process(["init", "--name", "My_App", "--image", "Registry/X", "--model", "/etc/m.pt"],
                          cwd=tmp_path, stdin=b"")
    assert outcome.code == 2
    assert_no_traceback(outcome)
    assert [line.split(":", 2)[1].strip() for line in outcome.err_lines] == ["--name", "--model", "--image"]
    assert "ci-gen.yaml:" not in outcome.err
    assert not (tmp_path / "ci-gen.yaml").exists()


@pytest.mark.parametrize("framework, shape, base", [
    ("pytorch", [1, 3, 224, 224], "nvidia/cuda:12.4.1-runtime-ubuntu22.04"),
    ("sklearn", [1, 4], "python:3.11-slim"),
    ("onnx", [1, 3, 224, 224], "python:3.11-slim"),
    ("tensorflow", [1, 224, 224, 3], "python:3.11-slim"),
])
def test_starter_fits_the_framework(framework: str, shape: list[int], base: str, tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    from ci_gen.manifest import load_manifest

    argv = ["init", "-C", str(tmp_path), "--name", "app", "--image", "registry.example.com/ml/app",
            "--model", "models/m", "--framework", framework]
    assert run_main(argv, capsys).code == 0
    manifest = load_manifest(tmp_path / "ci-gen.yaml", tmp_path)
    assert manifest.model is not None and manifest.model.framework == framework
    assert [list(i.shape) for i in manifest.model.inputs] == [shape]
    assert manifest.image.base == base
    assert run_main(["render", "-C", str(tmp_path)], capsys).code == 0


def test_framework_defaults_from_the_model_extension(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from ci_gen.manifest import load_manifest

    for model, framework in (("models/churn.pkl", "sklearn"), ("m.joblib", "sklearn"), ("m.onnx", "onnx"),
                             ("m.pt", "pytorch"), ("saved_model", "pytorch")):
        repo = tmp_path / framework / model.replace("/", "_")
        repo.mkdir(parents=True)
        argv = ["init", "-C", str(repo), "--name", "app", "--image", "registry.example.com/ml/app", "--model", model]
        assert run_main(argv, capsys).code == 0
        loaded = load_manifest(repo / "ci-gen.yaml", repo).model
        assert loaded is not None and loaded.framework == framework, model


def test_init_help_documents_every_option(capsys: pytest.CaptureFixture[str]) -> None:
    from ci_gen.cli import init

    text = run_main(["init", "--help"], capsys).out
    for param in init.params:
        assert param.help, f"{param.name} has no help"  # type: ignore[attr-defined]
        assert param.opts[-1] in text


def test_starter_points_to_docs_a_pip_user_has(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_main(["init", "-C", str(tmp_path), "--name", "app", "--image", "registry.example.com/ml/app"], capsys)
    comments = [line for line in (tmp_path / "ci-gen.yaml").read_text(encoding="utf-8").splitlines()
                if line.startswith("#")]
    assert not any("docs/" in line for line in comments)
    assert any("ci-gen schema --docs" in line for line in comments)


def test_schema_docs_lists_every_field_with_its_description(capsys: pytest.CaptureFixture[str]) -> None:
    text = run_main(["schema", "--docs"], capsys).out
    assert "name  (string)  required\n    Application name:" in text
    assert 'model.convert[].opset  (integer)  default 17' in text
    for field in ("image.base", "deploy.environments[].approval", "runners", "monitoring"):
        assert any(line.startswith(field + "  ") for line in text.splitlines()), field
