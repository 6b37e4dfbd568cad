"""Hypothesis strategies for valid manifests whose free-text fields are hostile strings.

`examples()` draws a manifest as plain data together with what the generated pipelines must
carry verbatim (the `Expected` record), so tests can look for every hostile value exactly where
it belongs.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ci_gen.rules import path_escape_reason
from hypothesis import strategies as st

# Quoting, interpolation and template syntax of every layer the values pass through (YAML,
# Groovy, shell, Jinja2, GitLab's `$` expansion), YAML's special words, and hard Unicode.
HOSTILE_PIECES = (
    "'", '"', "''", '"""', "\\", "\\'", '\\"', "\\n", "\\u0041", "$", "$X", "${X}", "$$", "${{ x }}",
    "`id`", "$(id)", "{{ x }}", "{% x %}", "{# x #}", "#{x}", "%{x}", "@{x}", "\n", "\t", "\r", "\r\n",
    ": ", " #", "#", "- ", "? ", "*a", "&a", "!tag", "!!python/object:os.system", "null", "yes", "No",
    "~", "|", ">", "---", "...", "%YAML", "[", "]", "{", "}", ",", "*/", "/*", "//", " ", "  ",
    "é", "ß", "日本", "😀", "\U0010fffd", "\u2028", "\u0085", "\x7f", "\ufeff", "\u200b",
)
# No lone surrogates and no NUL: a manifest refuses both (no encoder takes the one, every C string
# ends at the other), so they are tested as refusals (tests/hostile/test_parser.py), not here.
PLAIN_TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=6)


def hostile(min_size: int = 1, controls: bool = True, max_pieces: int = 6) -> st.SearchStrategy[str]:
    """Strings built from hostile pieces and arbitrary text; `controls=False` for fields whose
    schema pattern forbids control characters."""
    pieces = st.lists(st.one_of(st.sampled_from(HOSTILE_PIECES), PLAIN_TEXT), min_size=1, max_size=max_pieces)
    text = pieces.map("".join)
    if not controls:
        text = text.map(lambda s: "".join(ch for ch in s if ord(ch) >= 0x20))
    return text.filter(lambda s: len(s) >= min_size)


SLUG = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?", fullmatch=True)
VAR_NAME = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,12}", fullmatch=True).filter(
    lambda n: not n.startswith("CI_GEN_") and n.lower() not in ("true", "false", "null", "yes", "no", "on", "off")
    and n not in ("class", "def", "in", "if", "do", "as", "for", "int", "new", "try", "var", "null", "this"))
BRANCH = st.sampled_from(["main", "release/1.x", "feature_x-2", "v1.0"])
CRON = st.sampled_from(["0 3 * * *", "*/15 * * * *", "0 4 * * 1", "30 2 1 * *"])
SCALAR_VALUE = st.one_of(
    hostile().map(lambda s: (s, s)),
    st.integers(-10**6, 10**6).map(lambda i: (i, str(i))),
    st.booleans().map(lambda b: (b, "true" if b else "false")),
)


@dataclass
class Expected:
    """Where each hostile value must reappear, as the exact string a pipeline must hold."""

    variables: dict[str, str] = field(default_factory=dict)
    secrets: list[str] = field(default_factory=list)
    test_commands: dict[str, str] = field(default_factory=dict)  # job name -> run
    build_args: dict[str, str] = field(default_factory=dict)
    kube_contexts: dict[str, str] = field(default_factory=dict)  # job name -> context ("" when unset)
    model_path: str | None = None
    converts: bool = False
    scans_model: bool = False
    credentials: dict[str, str] = field(default_factory=dict)  # purpose -> Jenkins credential id
    signs: bool = False
    deploys: bool = False


def _model_path() -> st.SearchStrategy[str]:
    return hostile(controls=False, max_pieces=4).map(lambda s: "models/" + s).filter(
        lambda p: path_escape_reason(p, None) is None and not set("*?[\\") & set(p))  # glob characters: refused


@st.composite
def _model(draw: st.DrawFn, expected: Expected) -> tuple[dict[str, Any], bool]:
    """A model block with a valid conversion chain; returns it and whether it needs a GPU."""
    framework = draw(st.sampled_from(["pytorch", "onnx", "tensorflow", "sklearn"]))
    chains = [[], ["onnx"], ["onnx", "tensorrt"]] + ([["tensorrt"]] if framework == "onnx" else [])
    chain = draw(st.sampled_from(chains))
    model: dict[str, Any] = {"path": draw(_model_path()), "framework": framework}
    if ("onnx" in chain and framework != "onnx") or draw(st.booleans()):
        model["inputs"] = [{"name": "input", "shape": [1, draw(st.integers(1, 8))], "dtype": "float32"}]
    if framework == "pytorch" and draw(st.booleans()):
        model["entrypoint"] = "app.model:build"
    steps = []
    for fmt in chain:
        step: dict[str, Any] = {"format": fmt}
        if fmt == "onnx" and draw(st.booleans()):
            step["opset"] = draw(st.integers(7, 30))
        if fmt == "tensorrt" and draw(st.booleans()):
            step["precision"] = draw(st.sampled_from(["fp32", "fp16", "int8"]))
            if step["precision"] == "int8":
                step["calibration"] = "none"
        if draw(st.booleans()):
            step["parity"] = {"rtol": 0.01, "atol": 1e-06}
        steps.append(step)
    if steps or draw(st.booleans()):
        model["convert"] = steps
    expected.model_path, expected.converts = model["path"], bool(chain)
    return model, "tensorrt" in chain


@st.composite
def _deploy(draw: st.DrawFn, expected: Expected) -> tuple[dict[str, Any], bool]:
    strategy = draw(st.sampled_from(["rolling", "blue-green", "canary", None]))
    deploy: dict[str, Any] = {} if strategy is None else {"strategy": strategy}
    if strategy == "canary":
        steps = sorted(draw(st.sets(st.integers(1, 99), min_size=1, max_size=3)))
        deploy["canary"] = {"steps": steps, "interval": "2m",
                            "analysis": {"prometheus": "http://prometheus.monitoring:9090", "max_error_rate": 0.05}}
    if strategy == "blue-green" and draw(st.booleans()):
        deploy["blue_green"] = {"scale_down_delay": "15m"}
    if draw(st.booleans()):
        deploy["manifests"] = "deploy/k8s"
    gpu = False
    environments = []
    branch = draw(BRANCH)  # once an environment has a branch rule, later ones must keep it
    for name in draw(st.lists(SLUG, min_size=1, max_size=3, unique=True)):
        kubernetes: dict[str, Any] = {"namespace": draw(SLUG)}
        context = draw(st.one_of(st.none(), hostile(max_pieces=4).filter(lambda s: len(s) <= 253)))
        if context is not None:
            kubernetes["context"] = context
        env: dict[str, Any] = {"name": name, "kubernetes": kubernetes, "replicas": draw(st.integers(0, 5))}
        if draw(st.booleans()):
            env["gpu"] = draw(st.integers(0, 2))
            gpu = gpu or env["gpu"] > 0
        if draw(st.booleans()):
            env["approval"] = True
        if draw(st.booleans()):
            env["branch"] = branch
        environments.append(env)
        expected.kube_contexts[f"deploy-{name}"] = context or ""
    deploy["environments"] = environments
    expected.deploys = True
    return deploy, gpu


@st.composite
def examples(draw: st.DrawFn) -> tuple[dict[str, Any], Expected]:
    """A valid manifest (plain data) and what its pipelines must carry verbatim."""
    expected = Expected()
    data: dict[str, Any] = {"version": 1, "name": draw(SLUG)}
    targets = draw(st.sampled_from([None, ["gitlab"], ["jenkins"], ["gitlab", "jenkins"], ["jenkins", "gitlab"]]))
    if targets is not None:
        data["targets"] = targets
    needs_gpu = False
    if draw(st.booleans()):
        data["model"], needs_gpu = draw(_model(expected))
    image: dict[str, Any] = {"name": "registry.example.com:5000/ml/app"}
    if draw(st.booleans()):
        image["base"] = "python:3.11-slim"
    if draw(st.booleans()):
        image["dockerfile"] = "docker/Dockerfile"
        image["context"] = "."
    if draw(st.booleans()):
        image["builder"] = draw(st.sampled_from(["buildah", "docker", "kaniko"]))
    build_args = draw(st.dictionaries(VAR_NAME, SCALAR_VALUE, max_size=3))
    if build_args or draw(st.booleans()):
        image["build_args"] = {k: v for k, (v, _) in build_args.items()}
    expected.build_args = {k: text for k, (_, text) in build_args.items()}
    data["image"] = image
    tests = []
    for name in draw(st.lists(SLUG, max_size=3, unique=True)):
        test: dict[str, Any] = {"name": name, "run": draw(hostile())}
        if draw(st.booleans()):
            test["gpu"] = draw(st.booleans())
            needs_gpu = needs_gpu or test["gpu"]
        tests.append(test)
        expected.test_commands[f"test-{name}"] = test["run"]
    if tests or draw(st.booleans()):
        data["test"] = tests
    scan = draw(st.fixed_dictionaries({}, optional={
        "image": st.fixed_dictionaries({}, optional={"severity": st.sampled_from(["LOW", "CRITICAL"]),
                                                     "ignore_unfixed": st.booleans()}),
        "secrets": st.booleans(), "sbom": st.booleans(), "model": st.booleans(), "sign": st.booleans()}))
    if scan or draw(st.booleans()):
        data["scan"] = scan
    expected.scans_model = "model" in data and scan.get("model", True)
    expected.signs = scan.get("sign", False)
    if expected.signs:  # what deploys check the signature against: hostile values stay values
        scan["verify"] = {"identity": draw(hostile(controls=False, max_pieces=4).filter(lambda s: 0 < len(s) <= 500)),
                          "issuer": "https://gitlab.example.com"}
        data["scan"] = scan
    if draw(st.booleans()):
        data["deploy"], gpu_env = draw(_deploy(expected))
        needs_gpu = needs_gpu or gpu_env
    runners: dict[str, Any] = {}
    if needs_gpu or draw(st.booleans()):
        runners = {"gitlab": {"default": ["docker", "linux amd64"], "gpu": ["gpu", "cuda:12"]},
                   "jenkins": {"default": "linux", "gpu": "gpu-a100"}}
        if draw(st.booleans()):
            runners["images"] = {"default": "alpine:3.20", "gpu": "nvidia/cuda:12.4.1-base"}
        data["runners"] = runners
    credentials = draw(st.fixed_dictionaries({}, optional={
        purpose: hostile(controls=False, max_pieces=4).filter(lambda s: len(s) <= 256)
        for purpose in ("registry", "kubeconfig", "cosign")}))
    if credentials or draw(st.booleans()):
        data["jenkins"] = {"credentials": credentials, **({"folder": "ml/team a"} if draw(st.booleans()) else {})}
    expected.credentials = credentials
    if draw(st.booleans()):
        data["gitlab"] = {"project": "ml/app"}
    variables = draw(st.dictionaries(VAR_NAME, SCALAR_VALUE, max_size=4))
    if variables:
        data["variables"] = {k: v for k, (v, _) in variables.items()}
    expected.variables = {k: text for k, (_, text) in variables.items()}
    secrets = draw(st.lists(VAR_NAME.filter(lambda n: n not in variables), max_size=2, unique=True))
    if secrets:
        data["secrets"] = secrets
    expected.secrets = secrets
    schedules = draw(st.lists(hostile(controls=False, max_pieces=4).filter(lambda s: len(s) <= 255),
                              max_size=2, unique=True))
    if schedules:
        data["schedules"] = [{"name": n, "cron": draw(CRON), **({"branch": draw(BRANCH)} if draw(st.booleans()) else {})}
                             for n in schedules]
    return data, expected
