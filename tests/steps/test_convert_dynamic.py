"""Dynamic (-1) dimensions: real torch exports on CPU, run by onnxruntime at several batch sizes,
and the min/opt/max profile trtexec gets (command line: no GPU here)."""
from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from tests.tools import require_module

pytestmark = [pytest.mark.heavy, pytest.mark.filterwarnings("ignore::DeprecationWarning")]

MODEL = textwrap.dedent("""\
    import torch

    class Tiny(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = torch.nn.Linear(4, 3)

        def forward(self, x):
            return torch.relu(self.linear(x)), x.sum(dim=1)

    def build():
        torch.manual_seed(0)
        return Tiny().eval()
""")


@pytest.fixture(scope="module")
def torch():
    require_module("onnxruntime", "pip install onnxruntime")
    return require_module("torch", "pip install torch==2.13.0 (the steps extra)")


def env(**extra: str) -> dict[str, str]:
    return {"CI_GEN_CONVERT_FORMAT": "onnx", "CI_GEN_MODEL_FRAMEWORK": "pytorch",
            "CI_GEN_MODEL_INPUTS": json.dumps([{"name": "input", "shape": [-1, 4], "dtype": "float32"}]),
            "CI_GEN_MODEL_DYNAMIC": json.dumps({"batch": [1, 3, 6]}),
            "CI_GEN_CONVERT_OUTPUT": ".ci-gen/out/model.onnx", "CI_GEN_ONNX_OPSET": "18", **extra}


def eager_vs_onnxruntime(torch, tmp_path: Path, batch: int) -> float:
    """Largest difference between torch eager and onnxruntime on the exported file at `batch`."""
    import numpy as np
    import onnxruntime as ort

    import importlib.util
    spec = importlib.util.spec_from_file_location("tiny_model", tmp_path / "tiny_model.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    x = np.random.default_rng(batch).standard_normal((batch, 4)).astype(np.float32)
    session = ort.InferenceSession(str(tmp_path / ".ci-gen/out/model.onnx"), providers=["CPUExecutionProvider"])
    got = session.run(None, {"input": x})
    with torch.no_grad():
        want = [t.numpy() for t in module.build()(torch.from_numpy(x))]
    assert [g.shape for g in got] == [w.shape for w in want] == [(batch, 3), (batch,)]
    return max(float(np.abs(g - w).max()) for g, w in zip(got, want))


def batch_dim(tmp_path: Path) -> object:
    import onnx

    dim = onnx.load(str(tmp_path / ".ci-gen/out/model.onnx")).graph.input[0].type.tensor_type.shape.dim[0]
    return dim.dim_param or dim.dim_value


def test_torch_export_marks_the_batch_dynamic_and_checks_parity_at_min_and_opt(torch, tmp_path: Path, run_step) -> None:
    (tmp_path / "tiny_model.py").write_text(MODEL)
    result = run_step("convert-model", timeout=300, **env(CI_GEN_MODEL_ENTRYPOINT="tiny_model:build"))
    assert result.returncode == 0, result.stderr
    assert "parity check at opt, min shapes" in result.stdout
    rep = json.loads((tmp_path / ".ci-gen/reports/convert-onnx.json").read_text())
    assert [(p["profile"], p["shapes"], p["passed"]) for p in rep["profiles"]] == [
        ("opt", {"input": [3, 4]}, True), ("min", {"input": [1, 4]}, True)]
    assert rep["dynamic"] == {"batch": [1, 3, 6]}
    assert isinstance(batch_dim(tmp_path), str)  # a symbolic dimension, not a number
    for batch in (1, 6):  # two batch sizes, neither the one it was exported with
        assert eager_vs_onnxruntime(torch, tmp_path, batch) < 1e-5


def test_torchscript_export_marks_the_batch_dynamic(torch, tmp_path: Path, run_step) -> None:
    (tmp_path / "tiny_model.py").write_text(MODEL)
    import importlib.util
    spec = importlib.util.spec_from_file_location("tiny_model", tmp_path / "tiny_model.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    torch.jit.save(torch.jit.script(module.build()), str(tmp_path / "tiny.pt"))
    result = run_step("convert-model", timeout=300, **env(CI_GEN_MODEL_SOURCE="tiny.pt"))
    assert result.returncode == 0, result.stderr
    assert batch_dim(tmp_path) == "batch"
    for batch in (2, 5):
        assert eager_vs_onnxruntime(torch, tmp_path, batch) < 1e-5


def test_without_dynamic_dimensions_the_export_stays_static(torch, tmp_path: Path, run_step) -> None:
    (tmp_path / "tiny_model.py").write_text(MODEL)
    static = json.dumps([{"name": "input", "shape": [2, 4], "dtype": "float32"}])
    result = run_step("convert-model", timeout=300, **env(CI_GEN_MODEL_ENTRYPOINT="tiny_model:build",
                                                          CI_GEN_MODEL_INPUTS=static, CI_GEN_MODEL_DYNAMIC=""))
    assert result.returncode == 0, result.stderr
    assert batch_dim(tmp_path) == 2
    assert "parity check at opt shapes" in result.stdout


def trt_env(**extra: str) -> dict[str, str]:
    inputs = [{"name": "ids", "shape": [-1, -1], "dtype": "int64"}, {"name": "mask", "shape": [-1, -1], "dtype": "int64"}]
    return {"CI_GEN_CONVERT_FORMAT": "tensorrt", "CI_GEN_MODEL_SOURCE": ".ci-gen/out/model.onnx",
            "CI_GEN_MODEL_FRAMEWORK": "onnx", "CI_GEN_MODEL_INPUTS": json.dumps(inputs),
            "CI_GEN_CONVERT_OUTPUT": ".ci-gen/out/model.plan", **extra}


def test_trtexec_gets_min_opt_max_shapes_per_axis(run_step) -> None:
    result = run_step("convert-model", "--dry-run", **trt_env(
        CI_GEN_MODEL_DYNAMIC=json.dumps({"dim1": [16, 128, 512]}), CI_GEN_TRT_PRECISION="fp16"))
    assert result.returncode == 0, result.stderr
    # batch takes its default [1, 8, 32]; both inputs share the sequence axis dim1
    assert ("+ trtexec --onnx=.ci-gen/out/model.onnx --saveEngine=.ci-gen/out/model.plan "
            "--minShapes=ids:1x16,mask:1x16 --optShapes=ids:8x128,mask:8x128 "
            "--maxShapes=ids:32x512,mask:32x512 --fp16") in result.stdout
    assert "parity check at opt shapes" in result.stdout


def test_int8_takes_a_calibration_cache_or_an_explicit_none(run_step) -> None:
    dynamic = json.dumps({"dim1": [16, 128, 512]})
    cached = run_step("convert-model", "--dry-run", **trt_env(
        CI_GEN_MODEL_DYNAMIC=dynamic, CI_GEN_TRT_PRECISION="int8", CI_GEN_TRT_CALIBRATION="models/calib.cache"))
    assert cached.returncode == 0, cached.stderr
    assert "--int8 --calib=models/calib.cache" in cached.stdout
    accepted = run_step("convert-model", "--dry-run", **trt_env(
        CI_GEN_MODEL_DYNAMIC=dynamic, CI_GEN_TRT_PRECISION="int8", CI_GEN_TRT_CALIBRATION="none"))
    assert accepted.returncode == 0 and "--int8" in accepted.stdout and "--calib" not in accepted.stdout
    missing = run_step("convert-model", "--dry-run", **trt_env(CI_GEN_MODEL_DYNAMIC=dynamic, CI_GEN_TRT_PRECISION="int8"))
    assert missing.returncode == 2 and "int8 needs CI_GEN_TRT_CALIBRATION" in missing.stderr


def test_a_dynamic_axis_without_a_range_is_a_usage_error(run_step) -> None:
    result = run_step("convert-model", "--dry-run", **trt_env())
    assert result.returncode == 2
    assert "dimension 1 of input 'ids' is dynamic (-1) and CI_GEN_MODEL_DYNAMIC has no range for 'dim1'" in result.stderr


def test_sklearn_with_a_dynamic_batch_checks_parity_at_min_and_opt(tmp_path: Path, run_step) -> None:
    require_module("skl2onnx", "pip install skl2onnx")
    import pickle

    import numpy as np
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    features = rng.standard_normal((40, 4)).astype(np.float32)
    (tmp_path / "clf.pkl").write_bytes(pickle.dumps(LogisticRegression().fit(features, features[:, 0] > 0)))
    result = run_step("convert-model", timeout=300, **env(CI_GEN_MODEL_SOURCE="clf.pkl", CI_GEN_MODEL_FRAMEWORK="sklearn",
                                                          CI_GEN_MODEL_DYNAMIC=json.dumps({"batch": [2, 16, 64]})))
    assert result.returncode == 0, result.stderr
    rep = json.loads((tmp_path / ".ci-gen/reports/convert-onnx.json").read_text())
    assert [(p["profile"], p["shapes"]["input"], p["passed"]) for p in rep["profiles"]] == [
        ("opt", [16, 4], True), ("min", [2, 4], True)]
    assert batch_dim(tmp_path) == 0  # skl2onnx leaves the batch dimension unnamed and unset: dynamic
