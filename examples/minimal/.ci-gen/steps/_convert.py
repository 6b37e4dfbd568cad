"""Framework adapters for convert-model: load a source model, convert it, run it.

Each framework library is imported only inside the function that needs it, so a dry run (and
a step image without, say, TensorFlow) never pays for or needs the others.
"""
from __future__ import annotations

import importlib
import os
import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from _parity import InputSpec

Runner = Callable[[dict[str, np.ndarray]], list[np.ndarray]]


def _flatten(value: Any) -> list[np.ndarray]:
    """Model outputs as a flat list of arrays (tensor, tuple/list of them, or a dict)."""
    if isinstance(value, dict):
        return [a for k in sorted(value) for a in _flatten(value[k])]
    if isinstance(value, (list, tuple)):
        return [a for item in value for a in _flatten(item)]
    if hasattr(value, "detach"):
        return [value.detach().cpu().numpy()]
    return [np.asarray(value)]


# ---- PyTorch -------------------------------------------------------------------------------

def load_torch(source: str, entrypoint: str) -> Any:
    """The module from `module:function` (repo root importable), a .pt2 torch.export archive,
    or a TorchScript .pt file; always in eval mode so dropout/batch-norm are deterministic."""
    import torch

    if entrypoint:
        module_name, _, func_name = entrypoint.partition(":")
        if not func_name:
            raise ValueError(f"CI_GEN_MODEL_ENTRYPOINT must be module:function, got {entrypoint!r}")
        sys.path.insert(0, os.getcwd())
        model = getattr(importlib.import_module(module_name), func_name)()
    elif source.endswith(".pt2"):
        model = torch.export.load(source).module()
    else:
        model = torch.jit.load(source, map_location="cpu")
    if hasattr(model, "eval"):
        try:
            model.eval()
        except NotImplementedError:
            pass  # torch.export modules refuse eval(); they are already in inference form
    return model


def torch_runner(model: Any, specs: Sequence[InputSpec]) -> Runner:
    import torch

    def run(inputs: dict[str, np.ndarray]) -> list[np.ndarray]:
        with torch.no_grad():
            return _flatten(model(*[torch.from_numpy(inputs[s.name]) for s in specs]))
    return run


def export_torch(model: Any, specs: Sequence[InputSpec], inputs: dict[str, np.ndarray],
                 output: Path, opset: int, dynamic: dict[str, tuple[int, int, int]]) -> None:
    """Export with the example inputs (at the opt shape); every -1 dimension of the manifest
    becomes a named dynamic axis, one name per axis shared by all inputs that use it."""
    import torch

    from _parity import axis_name

    args = tuple(torch.from_numpy(inputs[s.name]) for s in specs)
    axes = [{i: axis_name(i) for i, d in enumerate(s.shape) if d == -1} for s in specs]
    # torch.export (dynamo) cannot trace TorchScript; those take the TorchScript exporter.
    scripted = isinstance(model, torch.jit.ScriptModule)
    options: dict[str, Any] = {}
    if dynamic and scripted:
        options["dynamic_axes"] = {s.name: a for s, a in zip(specs, axes) if a}
    elif dynamic:
        dims = {name: torch.export.Dim(name, min=low, max=high) for name, (low, _, high) in dynamic.items()}
        options["dynamic_shapes"] = tuple({i: dims[name] for i, name in a.items()} or None for a in axes)
    torch.onnx.export(model, args, str(output), opset_version=opset,
                      input_names=[s.name for s in specs], dynamo=not scripted,
                      external_data=False, **options)


# ---- ONNX ----------------------------------------------------------------------------------

def check_onnx(path: Path) -> None:
    import onnx

    onnx.checker.check_model(str(path), full_check=True)


def onnx_runner(path: Path) -> Runner:
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]

    def run(inputs: dict[str, np.ndarray]) -> list[np.ndarray]:
        missing = [n for n in names if n not in inputs]
        if missing:
            raise ValueError(f"the ONNX model wants inputs {names}; CI_GEN_MODEL_INPUTS lacks {missing}")
        return [np.asarray(o) for o in session.run(None, {n: inputs[n] for n in names})]
    return run


# ---- scikit-learn --------------------------------------------------------------------------

def load_sklearn(source: str) -> Any:
    """A pickled/joblib estimator: loading it runs code, so only the repo's own model is loaded."""
    if source.endswith((".joblib", ".jl")):
        import joblib

        return joblib.load(source)
    with open(source, "rb") as handle:
        return pickle.load(handle)  # noqa: S301 - the repository's own model file


def sklearn_runner(model: Any, specs: Sequence[InputSpec]) -> Runner:
    def run(inputs: dict[str, np.ndarray]) -> list[np.ndarray]:
        features = inputs[specs[0].name]
        outputs = [np.asarray(model.predict(features))]
        if hasattr(model, "predict_proba"):
            outputs.append(np.asarray(model.predict_proba(features)))
        return outputs
    return run


def export_sklearn(model: Any, specs: Sequence[InputSpec], output: Path, opset: int) -> None:
    from skl2onnx import to_onnx

    sample = np.zeros(specs[0].shape, dtype=np.float32)
    # zipmap off: probabilities as a plain tensor, comparable with predict_proba
    options = {id(model): {"zipmap": False}} if hasattr(model, "predict_proba") else None
    onx = to_onnx(model, sample, target_opset=opset, options=options)
    onx.graph.input[0].name = specs[0].name
    for node in onx.graph.node:
        node.input[:] = [specs[0].name if n == "X" else n for n in node.input]
    output.write_bytes(onx.SerializeToString())


# ---- TensorFlow (tf2onnx; not exercised in our tests: no TensorFlow on the test machines) ----

def tensorflow_runner(source: str) -> Runner:
    import tensorflow as tf

    serve = tf.saved_model.load(source).signatures["serving_default"]

    def run(inputs: dict[str, np.ndarray]) -> list[np.ndarray]:
        result = serve(**{k: tf.constant(v) for k, v in inputs.items()})
        return [result[k].numpy() for k in sorted(result)]
    return run


# ---- TensorRT ------------------------------------------------------------------------------

def tensorrt_runner(plan: Path, specs: Sequence[InputSpec]) -> Runner:
    """Run a serialized engine with the TensorRT Python API, buffers in torch CUDA tensors."""
    import tensorrt as trt
    import torch

    engine = trt.Runtime(trt.Logger(trt.Logger.WARNING)).deserialize_cuda_engine(plan.read_bytes())
    context = engine.create_execution_context()
    names = [engine.get_tensor_name(i) for i in range(engine.num_io_tensors)]
    outputs = [n for n in names if engine.get_tensor_mode(n) == trt.TensorIOMode.OUTPUT]

    def run(inputs: dict[str, np.ndarray]) -> list[np.ndarray]:
        keep = {}
        for spec in specs:
            keep[spec.name] = torch.from_numpy(inputs[spec.name]).cuda().contiguous()
            context.set_input_shape(spec.name, tuple(keep[spec.name].shape))
            context.set_tensor_address(spec.name, keep[spec.name].data_ptr())
        for name in outputs:
            dtype = torch.from_numpy(np.zeros(1, dtype=trt.nptype(engine.get_tensor_dtype(name)))).dtype
            keep[name] = torch.empty(tuple(context.get_tensor_shape(name)), dtype=dtype, device="cuda")
            context.set_tensor_address(name, keep[name].data_ptr())
        # the stream the input copies were queued on, so the engine sees them complete
        stream = torch.cuda.current_stream()
        if not context.execute_async_v3(stream.cuda_stream):
            raise RuntimeError("TensorRT execution failed")
        stream.synchronize()
        return [keep[n].cpu().numpy() for n in outputs]
    return run


def run_command(cmd: list[str]) -> None:
    result = subprocess.run(cmd, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"{Path(cmd[0]).name} failed with exit code {result.returncode}")
