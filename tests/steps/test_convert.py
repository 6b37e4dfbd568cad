"""convert-model with real torch, onnx, onnxruntime and skl2onnx on tiny models."""
from __future__ import annotations

import json
import pickle
import textwrap
from pathlib import Path

import pytest

from tests.tools import require_module

INPUTS = json.dumps([{"name": "input", "shape": [2, 4], "dtype": "float32"}])
# torch warns about its own legacy APIs (TorchScript) that these fixtures use on purpose
pytestmark = [pytest.mark.heavy, pytest.mark.filterwarnings("ignore::DeprecationWarning")]


def convert_env(source: str, framework: str, **extra: str) -> dict[str, str]:
    return {"CI_GEN_CONVERT_FORMAT": "onnx", "CI_GEN_MODEL_SOURCE": source, "CI_GEN_MODEL_FRAMEWORK": framework,
            "CI_GEN_MODEL_INPUTS": INPUTS, "CI_GEN_CONVERT_OUTPUT": ".ci-gen/out/model.onnx",
            "CI_GEN_ONNX_OPSET": "17", **extra}


@pytest.fixture(scope="module")
def torch():
    return require_module("torch", "pip install torch==2.13.0 (the steps extra)")


def tiny_module(torch):
    class Tiny(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.linear = torch.nn.Linear(4, 3)

        def forward(self, x):
            return torch.relu(self.linear(x)), x.sum(dim=1)

    torch.manual_seed(0)
    return Tiny().eval()


def report(tmp_path: Path, fmt: str = "onnx") -> dict:
    return json.loads((tmp_path / ".ci-gen" / "reports" / f"convert-{fmt}.json").read_text())


def test_torchscript_to_onnx_passes_parity(torch, tmp_path: Path, run_step) -> None:
    require_module("onnxruntime", "pip install onnxruntime")
    (tmp_path / "models").mkdir()
    torch.jit.save(torch.jit.script(tiny_module(torch)), str(tmp_path / "models" / "tiny.pt"))
    result = run_step("convert-model", timeout=300, **convert_env("models/tiny.pt", "pytorch"))
    assert result.returncode == 0, result.stderr
    assert "== ci-gen convert-model: parity check" in result.stdout
    rep = report(tmp_path)
    assert rep["passed"] and rep["compared"] and len(rep["outputs"]) == 2
    assert rep["max_abs_error"] < 1e-5
    assert set(rep["latency_ms"]) == {"source", "converted"}
    import onnx

    onnx.checker.check_model(str(tmp_path / ".ci-gen/out/model.onnx"))


def test_torch_export_pt2_to_onnx(torch, tmp_path: Path, run_step) -> None:
    program = torch.export.export(tiny_module(torch), (torch.randn(2, 4),))
    torch.export.save(program, str(tmp_path / "tiny.pt2"))
    result = run_step("convert-model", timeout=300, **convert_env("tiny.pt2", "pytorch"))
    assert result.returncode == 0, result.stderr
    assert report(tmp_path)["passed"]


def test_parity_failure_fails_the_step_and_keeps_the_report(torch, tmp_path: Path, run_step) -> None:
    # noise left on at inference: eager and ONNX Runtime draw different numbers
    (tmp_path / "noisy_model.py").write_text(textwrap.dedent("""\
        import torch

        class Noisy(torch.nn.Module):
            def forward(self, x):
                return x + torch.rand_like(x)

        def build():
            return Noisy()
        """))
    result = run_step("convert-model", timeout=300,
                      **convert_env("", "pytorch", CI_GEN_MODEL_ENTRYPOINT="noisy_model:build"))
    assert result.returncode == 1
    # torch logs to stderr too; the step's own reason is the one last line
    assert result.stderr.strip().splitlines()[-1].startswith(
        "ci-gen convert-model: error: parity failed: max abs error")
    rep = report(tmp_path)
    assert rep["passed"] is False and rep["max_abs_error"] > 1e-3


def test_sklearn_to_onnx(tmp_path: Path, run_step) -> None:
    require_module("skl2onnx", "pip install skl2onnx")
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    features = rng.standard_normal((40, 4)).astype(np.float32)
    model = LogisticRegression().fit(features, (features[:, 0] > 0).astype(int))
    (tmp_path / "clf.pkl").write_bytes(pickle.dumps(model))
    result = run_step("convert-model", timeout=300, **convert_env("clf.pkl", "sklearn"))
    assert result.returncode == 0, result.stderr
    rep = report(tmp_path)
    assert rep["passed"] and len(rep["outputs"]) == 2  # labels and probabilities


def test_onnx_passes_through_checked(torch, tmp_path: Path, run_step) -> None:
    torch.onnx.export(tiny_module(torch), (torch.randn(2, 4),), str(tmp_path / "in.onnx"),
                      input_names=["input"], dynamo=False)
    result = run_step("convert-model", timeout=300, **convert_env("in.onnx", "onnx"))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / ".ci-gen/out/model.onnx").read_bytes() == (tmp_path / "in.onnx").read_bytes()
    assert report(tmp_path)["passthrough"] is True


def test_broken_onnx_is_rejected(tmp_path: Path, run_step) -> None:
    require_module("onnx", "pip install onnx")
    (tmp_path / "bad.onnx").write_bytes(b"not a model")
    result = run_step("convert-model", **convert_env("bad.onnx", "onnx"))
    assert result.returncode == 1
    assert "conversion failed" in result.stderr


def test_tensorrt_dry_run_command_line(tmp_path: Path, run_step) -> None:
    result = run_step("convert-model", "--dry-run", CI_GEN_CONVERT_FORMAT="tensorrt",
                      CI_GEN_MODEL_SOURCE=".ci-gen/out/model.onnx", CI_GEN_MODEL_FRAMEWORK="onnx",
                      CI_GEN_MODEL_INPUTS=json.dumps([{"name": "input", "shape": [8, 3, 224, 224], "dtype": "float16"}]),
                      CI_GEN_CONVERT_OUTPUT=".ci-gen/out/model.plan", CI_GEN_TRT_PRECISION="fp16")
    assert result.returncode == 0, result.stderr
    assert ("+ trtexec --onnx=.ci-gen/out/model.onnx --saveEngine=.ci-gen/out/model.plan "
            "--minShapes=input:8x3x224x224 --optShapes=input:8x3x224x224 --maxShapes=input:8x3x224x224 --fp16"
            ) in result.stdout
    assert not (tmp_path / ".ci-gen").exists()


def test_tensorrt_needs_an_onnx_source(run_step) -> None:
    result = run_step("convert-model", CI_GEN_CONVERT_FORMAT="tensorrt", CI_GEN_MODEL_SOURCE="m.pt",
                      CI_GEN_MODEL_FRAMEWORK="pytorch", CI_GEN_MODEL_INPUTS=INPUTS,
                      CI_GEN_CONVERT_OUTPUT="m.plan")
    assert result.returncode in (1, 2)
    assert result.stderr.startswith("ci-gen convert-model: error:")


@pytest.mark.parametrize("var, value, message", [
    ("CI_GEN_CONVERT_FORMAT", "tflite", "CI_GEN_CONVERT_FORMAT must be one of"),
    ("CI_GEN_MODEL_INPUTS", "[{]", "not JSON"),
    ("CI_GEN_PARITY_RTOL", "tight", "must be a number"),
])
def test_bad_variables_exit_2(var: str, value: str, message: str, run_step) -> None:
    env = convert_env("m.onnx", "onnx")
    env[var] = value
    result = run_step("convert-model", "--dry-run", **env)
    assert result.returncode == 2 and message in result.stderr
