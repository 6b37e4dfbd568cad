"""convert-model: read the variables, pick the conversion path, run parity, write the report."""
from __future__ import annotations

import shlex
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import _step
from _parity import (InputSpec, at_profile, compare, make_inputs, median_latency_ms, parse_dynamic, parse_inputs,
                     write_report)

STEP = "convert-model"
FORMATS = ("onnx", "tensorrt")
FRAMEWORKS = ("pytorch", "onnx", "tensorflow", "sklearn")


@dataclass(frozen=True)
class Config:
    fmt: str
    source: str
    framework: str
    entrypoint: str
    inputs: list[InputSpec]
    output: Path
    opset: int
    rtol: float
    atol: float
    precision: str
    report: Path
    dynamic: dict[str, tuple[int, int, int]] = field(default_factory=dict)  # axis -> (min, opt, max)
    calibration: str = ""  # int8: a calibration cache path, or "none"


def read_config() -> Config:
    fmt = _step.env("CI_GEN_CONVERT_FORMAT")
    framework = _step.env("CI_GEN_MODEL_FRAMEWORK", "onnx" if fmt == "tensorrt" else "pytorch")
    precision = _step.env("CI_GEN_TRT_PRECISION", "fp32")
    for name, value, allowed in (("CI_GEN_CONVERT_FORMAT", fmt, FORMATS),
                                 ("CI_GEN_MODEL_FRAMEWORK", framework, FRAMEWORKS),
                                 ("CI_GEN_TRT_PRECISION", precision, ("fp32", "fp16", "int8"))):
        if value not in allowed:
            raise _step.UsageError(f"{name} must be one of {', '.join(allowed)}, got {value!r}")
    try:
        inputs = parse_inputs(_step.env("CI_GEN_MODEL_INPUTS"))
        dynamic = parse_dynamic(_step.env("CI_GEN_MODEL_DYNAMIC", ""), inputs)
        opset = int(_step.env("CI_GEN_ONNX_OPSET", "17"))
    except ValueError as exc:
        raise _step.UsageError(str(exc)) from None
    calibration = _step.env("CI_GEN_TRT_CALIBRATION", "")
    if fmt == "tensorrt" and precision == "int8" and not calibration:
        raise _step.UsageError("int8 needs CI_GEN_TRT_CALIBRATION: a calibration cache, or none to accept "
                               "the accuracy loss")
    entrypoint = _step.env("CI_GEN_MODEL_ENTRYPOINT", "")
    return Config(
        fmt=fmt, source=_step.env("CI_GEN_MODEL_SOURCE", "" if entrypoint else None), framework=framework,
        entrypoint=entrypoint, inputs=inputs,
        output=Path(_step.env("CI_GEN_CONVERT_OUTPUT")), opset=opset,
        rtol=_step.env_float("CI_GEN_PARITY_RTOL", "1e-3"),
        atol=_step.env_float("CI_GEN_PARITY_ATOL", "1e-5"), precision=precision,
        report=_step.report_dir() / f"convert-{fmt}.json", dynamic=dynamic, calibration=calibration)


def trtexec_command(cfg: Config) -> list[str]:
    """trtexec with one optimisation profile: the manifest's min/opt/max for dynamic (-1)
    dimensions, the fixed shape everywhere else."""
    def shapes(which: str) -> str:
        specs = at_profile(cfg.inputs, cfg.dynamic, which)
        return ",".join(f"{s.name}:" + "x".join(str(d) for d in s.shape) for s in specs)

    cmd = ["trtexec", f"--onnx={cfg.source}", f"--saveEngine={cfg.output}",
           f"--minShapes={shapes('min')}", f"--optShapes={shapes('opt')}", f"--maxShapes={shapes('max')}"]
    if cfg.precision in ("fp16", "int8"):
        cmd.append(f"--{cfg.precision}")
    if cfg.precision == "int8" and cfg.calibration not in ("", "none"):
        cmd.append(f"--calib={cfg.calibration}")
    return cmd


def tensorflow_command(source: str, output: Path, opset: int) -> list[str]:
    return [sys.executable, "-m", "tf2onnx.convert", "--saved-model", source,
            "--output", str(output), "--opset", str(opset)]


def plan(cfg: Config) -> list[str]:
    """What a dry run prints: one line per action, real command lines where there are some."""
    if cfg.fmt == "tensorrt":
        lines = [shlex.join(trtexec_command(cfg))]
    elif cfg.framework == "onnx":
        lines = [shlex.join(["cp", cfg.source, str(cfg.output)]), f"onnx.checker.check_model {cfg.output}"]
    elif cfg.framework == "tensorflow":
        lines = [shlex.join(tensorflow_command(cfg.source, cfg.output, cfg.opset))]
    elif cfg.framework == "sklearn":
        lines = [f"skl2onnx.to_onnx {cfg.source} -> {cfg.output} (opset {cfg.opset})"]
    else:
        src = cfg.entrypoint or cfg.source
        axes = "".join(f", dynamic {a} {list(r)}" for a, r in cfg.dynamic.items())
        lines = [f"torch.onnx.export {src} -> {cfg.output} (opset {cfg.opset}{axes})"]
    return lines + [f"parity check at {', '.join(parity_profiles(cfg))} shapes rtol={cfg.rtol} atol={cfg.atol} "
                    f"-> {cfg.report}"]


def parity_profiles(cfg: Config) -> list[str]:
    """TensorRT is compared at the opt shape it is tuned for; an ONNX export with dynamic axes at
    min too, which proves the axes really are dynamic."""
    if not cfg.dynamic or cfg.fmt == "tensorrt":
        return ["opt"]
    same = at_profile(cfg.inputs, cfg.dynamic, "min") == at_profile(cfg.inputs, cfg.dynamic, "opt")
    return ["opt"] if same else ["opt", "min"]


def convert(cfg: Config, inputs: dict[str, Any]) -> Callable[[dict[str, Any]], list[Any]] | None:
    """Produce cfg.output; return a runner for the source model (None: nothing to compare)."""
    import _convert

    if cfg.fmt == "tensorrt":
        if cfg.framework != "onnx":
            raise _step.UsageError("TensorRT converts from ONNX: put an onnx step before it in the chain")
        _convert.run_command(trtexec_command(cfg))
        return _convert.onnx_runner(Path(cfg.source))
    if cfg.framework == "onnx":
        if Path(cfg.source).resolve() != cfg.output.resolve():
            shutil.copyfile(cfg.source, cfg.output)
        return None
    if cfg.framework == "tensorflow":
        _convert.run_command(tensorflow_command(cfg.source, cfg.output, cfg.opset))
        return _convert.tensorflow_runner(cfg.source)
    if cfg.framework == "sklearn":
        model = _convert.load_sklearn(cfg.source)
        _convert.export_sklearn(model, at_profile(cfg.inputs, cfg.dynamic, "opt"), cfg.output, cfg.opset)
        return _convert.sklearn_runner(model, cfg.inputs)
    model = _convert.load_torch(cfg.source, cfg.entrypoint)
    _convert.export_torch(model, cfg.inputs, inputs, cfg.output, cfg.opset, cfg.dynamic)
    return _convert.torch_runner(model, cfg.inputs)


def converted_runner(cfg: Config) -> Callable[[dict[str, Any]], list[Any]] | None:
    import _convert

    if cfg.fmt == "onnx":
        _convert.check_onnx(cfg.output)
        return _convert.onnx_runner(cfg.output)
    try:
        return _convert.tensorrt_runner(cfg.output, cfg.inputs)
    except ImportError:
        return None  # no TensorRT Python API in this image: the engine is built, not compared


def parity(cfg: Config, source_run: Any, target_run: Any, inputs: dict[str, Any]) -> dict[str, Any]:
    base = {"step": STEP, "format": cfg.fmt, "framework": cfg.framework, "source": cfg.source,
            "output": str(cfg.output), "rtol": cfg.rtol, "atol": cfg.atol,
            "inputs": [{"name": s.name, "shape": list(s.shape), "dtype": s.dtype} for s in cfg.inputs]}
    if cfg.fmt == "tensorrt":
        base["precision"] = cfg.precision
    if target_run is None:
        return {**base, "passed": True, "compared": False,
                "reason": "TensorRT Python API not installed: parity not checked"}
    target_out = target_run(inputs)
    latency = {"converted": median_latency_ms(lambda: target_run(inputs))}
    if source_run is None:  # ONNX pass-through: the file is the source
        result = compare(target_out, target_out, cfg.rtol, cfg.atol)
        latency["source"] = latency["converted"]
        return {**base, **result, "compared": True, "passthrough": True, "latency_ms": latency}
    result = compare(source_run(inputs), target_out, cfg.rtol, cfg.atol)
    latency["source"] = median_latency_ms(lambda: source_run(inputs))
    return {**base, **result, "compared": True, "passthrough": False, "latency_ms": latency}


def execute(cfg: Config) -> dict[str, Any]:
    if not Path(cfg.source).exists() and not (cfg.entrypoint and cfg.framework == "pytorch"):
        raise _step.StepError(f"model source {cfg.source} does not exist")
    cfg.output.parent.mkdir(parents=True, exist_ok=True)
    profiles = parity_profiles(cfg)
    inputs = make_inputs(at_profile(cfg.inputs, cfg.dynamic, "opt"))
    _step.section(STEP, f"convert {cfg.framework} -> {cfg.fmt}")
    for line in plan(cfg)[:-1]:
        print("+ " + line, flush=True)
    source_run = convert(cfg, inputs)
    _step.section(STEP, f"parity check at {', '.join(profiles)} shapes")
    target_run = converted_runner(cfg)
    report = parity(cfg, source_run, target_run, inputs)
    report["profiles"] = [_profile_result(cfg, "opt", report)]
    for which in profiles[1:]:
        extra = parity(cfg, source_run, target_run, make_inputs(at_profile(cfg.inputs, cfg.dynamic, which), seed=1))
        report["profiles"].append(_profile_result(cfg, which, extra))
        report["passed"] = report["passed"] and extra["passed"]
    if cfg.dynamic:
        report["dynamic"] = {axis: list(r) for axis, r in cfg.dynamic.items()}
    write_report(cfg.report, report)
    return report


def _profile_result(cfg: Config, which: str, result: dict[str, Any]) -> dict[str, Any]:
    shapes = {s.name: list(s.shape) for s in at_profile(cfg.inputs, cfg.dynamic, which)}
    return {"profile": which, "shapes": shapes, "passed": result["passed"],
            "max_abs_error": result.get("max_abs_error"), "max_rel_error": result.get("max_rel_error")}


def _help() -> str:
    """The script's header comment, as `ci-gen steps show convert-model` prints it."""
    lines = Path(sys.argv[0]).read_text(encoding="utf-8").splitlines()[1:]
    header = []
    for line in lines:
        if not line.startswith("#"):
            break
        header.append(line[2:] if line.startswith("# ") else line[1:])
    return "\n".join(header)


def main(argv: Sequence[str]) -> None:
    if "-h" in argv or "--help" in argv:
        print(_help())
        return
    try:
        unknown = [a for a in argv if a != "--dry-run"]
        if unknown:
            raise _step.UsageError(f"unknown argument {unknown[0]}")
        cfg = read_config()
        if _step.is_dry_run(argv):
            _step.section(STEP, f"dry run: {cfg.framework} -> {cfg.fmt}")
            for line in plan(cfg):
                print("+ " + line)
            return
        try:
            report = execute(cfg)
        except _step.StepError:
            raise
        except Exception as exc:  # framework errors are many and untyped: report them as one line
            raise _step.StepError(f"conversion failed: {type(exc).__name__}: {exc}") from exc
        print(f"max_abs_error={report.get('max_abs_error')} max_rel_error={report.get('max_rel_error')} "
              f"latency_ms={report.get('latency_ms')} report={cfg.report}")
        if not report["passed"]:
            bad = next((p for p in report.get("profiles", []) if not p["passed"]), report)
            where = f" at the {bad['profile']} shapes {bad['shapes']}" if cfg.dynamic and "profile" in bad else ""
            raise _step.StepError(
                f"parity failed{where}: max abs error {bad['max_abs_error']}, max rel error "
                f"{bad['max_rel_error']} outside rtol={cfg.rtol} atol={cfg.atol} (see {cfg.report})")
    except _step.StepError as err:
        _step.fail(STEP, err)
