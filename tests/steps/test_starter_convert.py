"""The starter `ci-gen init` writes converts a real model of its framework.

Each case writes a tiny model of the shape the starter declares, runs `init`, builds the
pipeline plan from the written manifest and runs the plan's convert job: the shared
convert-model step with exactly the variables the generated pipeline passes it.
"""
from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any, Callable

import pytest

from tests.tools import require_module

pytestmark = [pytest.mark.heavy, pytest.mark.filterwarnings("ignore::DeprecationWarning")]


def _conv_net(torch: Any) -> Any:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, stride=8), torch.nn.ReLU(),
                               torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten()).eval()


def _pytorch_model(repo: Path) -> str:
    torch = require_module("torch", "pip install torch (the steps extra)")
    torch.jit.save(torch.jit.script(_conv_net(torch)), str(repo / "models" / "model.pt"))
    return "models/model.pt"


def _onnx_model(repo: Path) -> str:
    torch = require_module("torch", "pip install torch (the steps extra)")
    require_module("onnx", "pip install onnx")
    torch.onnx.export(_conv_net(torch), (torch.randn(1, 3, 224, 224),), str(repo / "models" / "model.onnx"),
                      input_names=["input"], dynamo=False)
    return "models/model.onnx"


def _sklearn_model(repo: Path) -> str:
    require_module("skl2onnx", "pip install skl2onnx")
    import numpy as np
    from sklearn.ensemble import RandomForestClassifier

    rng = np.random.default_rng(0)
    features = rng.standard_normal((60, 4)).astype(np.float32)  # the starter's [1, 4]
    model = RandomForestClassifier(n_estimators=5, random_state=0).fit(features, (features[:, 0] > 0).astype(int))
    (repo / "models" / "model.pkl").write_bytes(pickle.dumps(model))
    return "models/model.pkl"


MODELS: dict[str, Callable[[Path], str]] = {
    "pytorch": _pytorch_model, "onnx": _onnx_model, "sklearn": _sklearn_model,
}


def _convert_env(repo: Path) -> dict[str, str]:
    from ci_gen.manifest import load_manifest
    from ci_gen.plan import build_plan

    jobs = [job for job in build_plan(load_manifest(repo / "ci-gen.yaml", repo)).jobs if job.step == "convert-model"]
    assert [job.name for job in jobs] == ["convert-onnx"]
    return dict(jobs[0].env)


@pytest.mark.parametrize("framework", sorted(MODELS))
def test_starter_manifest_converts_a_real_model(framework: str, tmp_path: Path, run_step,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    from ci_gen.cli import main

    (tmp_path / "models").mkdir()
    model = MODELS[framework](tmp_path)
    argv = ["init", "-C", str(tmp_path), "--name", "app", "--image", "registry.example.com/ml/app",
            "--model", model, "--framework", framework]
    assert main(argv) == 0, capsys.readouterr()
    result = run_step("convert-model", timeout=300, **_convert_env(tmp_path))
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads((tmp_path / ".ci-gen" / "reports" / "convert-onnx.json").read_text(encoding="utf-8"))
    assert report["passed"] is True
    assert (tmp_path / ".ci-gen" / "out" / "model.onnx").stat().st_size > 0


def test_tensorflow_starter_converts_a_savedmodel(tmp_path: Path, run_step, capsys: pytest.CaptureFixture[str]) -> None:
    # TensorFlow and tf2onnx are not in the steps extra (several hundred MB); run where installed.
    try:
        import tensorflow as tf
        import tf2onnx  # noqa: F401
    except ImportError:
        pytest.skip("tensorflow and tf2onnx not installed (not part of the steps extra)")
    from ci_gen.cli import main

    model = tf.keras.Sequential([tf.keras.Input((224, 224, 3)), tf.keras.layers.Conv2D(4, 3, strides=8),
                                 tf.keras.layers.GlobalAveragePooling2D()])
    model.export(str(tmp_path / "models" / "saved"))
    argv = ["init", "-C", str(tmp_path), "--name", "app", "--image", "registry.example.com/ml/app",
            "--model", "models/saved", "--framework", "tensorflow"]
    assert main(argv) == 0, capsys.readouterr()
    result = run_step("convert-model", timeout=300, **_convert_env(tmp_path))
    assert result.returncode == 0, result.stderr[-3000:]
