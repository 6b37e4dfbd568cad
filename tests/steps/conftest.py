"""Fixtures for the shared-step tests: run a step, fake Kubernetes API, registry, Prometheus.

Every server listens on 127.0.0.1 only and is stopped by its fixture.
"""
from __future__ import annotations

import os
import socket
import subprocess
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from tests.steps.fake_kube import FakeKube
from tests.tools import require

STEPS = Path(__file__).resolve().parents[2] / "shared-steps"
DATA = Path(__file__).resolve().parent / "data"
# Variables of the CI systems that would change what a step does.
_SCRUB = ("CI_GEN_", "CI_COMMIT_SHA", "GIT_COMMIT", "CI_REGISTRY_", "COSIGN_", "KUBECONFIG", "CI_PROJECT_URL", "GIT_URL")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_http(url: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


@pytest.fixture
def pushgateway(tmp_path: Path) -> Iterator[str]:
    """A real Pushgateway (Debian prometheus-pushgateway) on a free loopback port, empty."""
    exe = require("prometheus-pushgateway", "apt-get install prometheus-pushgateway")
    port = free_port()
    with open(tmp_path / "pushgateway.log", "w") as log:
        # Debian's build persists to one file in /var/lib by default: each test starts empty instead
        proc = subprocess.Popen([exe, f"--web.listen-address=127.0.0.1:{port}", "--persistence.file="],
                                stdout=log, stderr=log)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_http(f"{url}/-/ready")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def step_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_SCRUB)}
    env.update(extra)
    return env


@pytest.fixture
def run_step(tmp_path: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    """run_step(name, *args, cwd=tmp_path, timeout=120, **VARS) -> CompletedProcess."""
    def run(name: str, *args: str, cwd: Path | None = None, timeout: float = 120, **env: str) -> Any:
        return subprocess.run([str(STEPS / name), *args], cwd=cwd or tmp_path, env=step_env(**env),
                              capture_output=True, text=True, timeout=timeout, check=False)
    return run


@pytest.fixture
def git_repo(tmp_path: Path) -> Path:
    """An empty git repository with one commit, as the steps see a user's checkout."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", "-c", "commit.gpgsign=false"]
    subprocess.run([*git, "init", "-q", str(repo)], check=True)
    (repo / "README").write_text("app\n")
    subprocess.run([*git, "-C", str(repo), "add", "."], check=True)
    subprocess.run([*git, "-C", str(repo), "commit", "-qm", "init"], check=True)
    return repo


# ---- Kubernetes ---------------------------------------------------------------------------

@pytest.fixture
def fake_kube(tmp_path: Path) -> Iterator[FakeKube]:
    kube = FakeKube().start()
    yield kube
    kube.stop()


@pytest.fixture
def kube_env(fake_kube: FakeKube, tmp_path: Path) -> dict[str, str]:
    """Variables that point kubectl at the fake server (context "test", namespace "ml")."""
    require("kubectl", "apt-get install kubernetes-client")
    config = tmp_path / "kubeconfig"
    config.write_text(
        "apiVersion: v1\nkind: Config\n"
        f"clusters: [{{name: fake, cluster: {{server: \"{fake_kube.url}\"}}}}]\n"
        "users: [{name: u, user: {token: not-a-secret}}]\n"
        "contexts: [{name: test, context: {cluster: fake, user: u, namespace: ml}}]\n"
        "current-context: test\n")
    return {"KUBECONFIG": str(config), "KUBECACHEDIR": str(tmp_path / "kube-cache"),
            "HOME": str(tmp_path), "CI_GEN_KUBE_CONTEXT": "test", "CI_GEN_KUBE_NAMESPACE": "ml"}


# ---- registry + buildah --------------------------------------------------------------------

@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Debian's docker-registry on 127.0.0.1 (plain HTTP); yields host:port."""
    exe = require("docker-registry", "apt-get install docker-registry")
    root = tmp_path_factory.mktemp("registry")
    port = free_port()
    (root / "config.yml").write_text(
        f"version: 0.1\nlog: {{level: warn}}\nstorage:\n  filesystem: {{rootdirectory: {root / 'data'}}}\n"
        f"http:\n  addr: 127.0.0.1:{port}\n")
    with open(root / "log", "w") as log:
        proc = subprocess.Popen([exe, "serve", str(root / "config.yml")], stdout=log, stderr=log)
    try:
        wait_http(f"http://127.0.0.1:{port}/v2/")
        yield f"127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
def buildah_env(tmp_path: Path) -> dict[str, str]:
    """buildah storage of the test's own (vfs), so tests never touch /var/lib/containers."""
    require("buildah", "apt-get install buildah")
    conf = tmp_path / "storage.conf"
    conf.write_text(f'[storage]\ndriver = "vfs"\ngraphroot = "{tmp_path / "graph"}"\n'
                    f'runroot = "{tmp_path / "run"}"\n')
    return {"CONTAINERS_STORAGE_CONF": str(conf)}


# ---- Prometheus + a tiny exporter ----------------------------------------------------------

class Exporter:
    """Serves http_requests_total and a latency histogram for a canary; counters grow per scrape."""

    def __init__(self, healthy: bool) -> None:
        self.healthy = healthy
        self.scrapes = 0
        exporter = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                body = exporter.render().encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.address = f"127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def render(self) -> str:
        self.scrapes += 1
        n = 100 * self.scrapes
        errors = n // 50 if not self.healthy else 0         # failing: 2% of requests are 5xx
        slow_le = 0.5 if not self.healthy else 0.1           # failing: most requests take ~0.5 s
        labels = 'app="fraud-detector",track="canary"'
        lines = [f'http_requests_total{{{labels},code="200"}} {n - errors}',
                 f'http_requests_total{{{labels},code="500"}} {errors}']
        for le in ("0.05", "0.1", "0.25", "0.5", "1", "+Inf"):
            count = n if le == "+Inf" or float(le) >= slow_le else n // 20
            lines.append(f'http_request_duration_seconds_bucket{{{labels},le="{le}"}} {count}')
        return "\n".join(lines) + "\n"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def wait_scrapes(url: str, count: int, timeout: float = 30.0) -> None:
    """Block until Prometheus holds `count` scrapes: rate() needs two points inside its window."""
    import json
    import urllib.parse

    query = urllib.parse.urlencode({"query": f"min(count_over_time(http_requests_total[1m])) >= {count}"})
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with urllib.request.urlopen(f"{url}/api/v1/query?{query}", timeout=5) as response:
            if json.load(response)["data"]["result"]:
                return
        time.sleep(0.5)
    raise TimeoutError(f"Prometheus at {url} scraped fewer than {count} times in {timeout}s")


@pytest.fixture
def prometheus(tmp_path: Path) -> Iterator[Callable[[bool], str]]:
    """prometheus(healthy) -> base URL of a Debian prometheus scraping a fresh exporter every 1 s."""
    exe = require("prometheus", "apt-get install prometheus")
    started: list[tuple[subprocess.Popen[bytes], Exporter]] = []

    def start(healthy: bool) -> str:
        exporter = Exporter(healthy)
        port = free_port()
        data = tmp_path / f"prom-{port}"
        data.mkdir()
        (data / "prometheus.yml").write_text(
            "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
            f"scrape_configs:\n- job_name: canary\n  static_configs: [{{targets: ['{exporter.address}']}}]\n")
        with open(data / "log", "w") as log:
            proc = subprocess.Popen([exe, f"--config.file={data / 'prometheus.yml'}",
                                     f"--storage.tsdb.path={data / 'tsdb'}",
                                     f"--web.listen-address=127.0.0.1:{port}"], stdout=log, stderr=log)
        started.append((proc, exporter))
        url = f"http://127.0.0.1:{port}"
        wait_http(f"{url}/-/ready", timeout=30)
        wait_scrapes(url, 3)
        return url

    yield start
    for proc, exporter in started:
        proc.terminate()
        proc.wait(timeout=15)
        exporter.stop()


def step_module(name: str) -> Any:
    """Import a helper module of shared-steps (they import each other by bare name)."""
    import importlib
    import sys

    if str(STEPS) not in sys.path:
        sys.path.insert(0, str(STEPS))
    return importlib.import_module(name)


class EnvContext:
    """What the lead's renderer passes as `env` to the k8s templates."""

    def __init__(self, name: str = "staging", namespace: str = "ml", replicas: int = 2, gpu: int = 0) -> None:
        self.name, self.namespace, self.replicas, self.gpu = name, namespace, replicas, gpu


class PolicyContext:
    """What the lead's renderer passes as `policy` (deploy.network_policy, its defaults)."""

    def __init__(self, ingress_namespaces: tuple[str, ...] = ("ingress-nginx",),
                 prometheus_namespaces: tuple[str, ...] = ("monitoring",), same_namespace: bool = False) -> None:
        self.enabled = True
        self.ingress_namespaces, self.prometheus_namespaces = ingress_namespaces, prometheus_namespaces
        self.same_namespace = same_namespace


def _k8s_environment() -> Any:
    """Jinja2 set up like the lead's (strict, trim/lstrip blocks, yaml_str) for when ci_gen
    cannot be imported; the lead's own environment is used when it can."""
    import json

    import jinja2

    jenv = jinja2.Environment(loader=jinja2.FileSystemLoader(str(STEPS.parent / "pipelines")),
                              undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
                              trim_blocks=True, lstrip_blocks=True, autoescape=False)
    jenv.filters["yaml_str"] = lambda value: json.dumps(value if isinstance(value, str) else str(value))
    return jenv


def render_k8s(dest: Path, *, app: str = "fraud-detector", image_name: str = "reg.example.com/ml/fraud-detector",
               env: EnvContext | None = None, strategy: str = "rolling", port: int = 8080,
               health_path: str = "/healthz", policy: PolicyContext | None = None) -> list[Path]:
    """Render pipelines/k8s/*.j2 into dest as `ci-gen render` does."""
    try:
        from ci_gen.templating import render_template
    except ImportError:
        def render_template(name: str, **context: Any) -> str:
            return str(_k8s_environment().get_template(name).render(**context))
    dest.mkdir(parents=True, exist_ok=True)
    written = []
    for template in sorted((STEPS.parent / "pipelines" / "k8s").glob("*.j2")):
        out = dest / template.name.removesuffix(".j2")
        out.write_text(render_template(f"k8s/{template.name}", app=app, image_name=image_name,
                                       env=env or EnvContext(), strategy=strategy, port=port,
                                       health_path=health_path, policy=policy or PolicyContext()))
        written.append(out)
    return written


SLI_MANIFEST = """\
version: 1
name: fraud-detector
image: {name: reg.example.com/ml/fraud-detector}
monitoring: {slo: {availability: 99.9, latency: {threshold_ms: 250, percent: 99}}}
deploy:
  environments: [{name: staging, kubernetes: {namespace: ml}}]
"""


def write_sli(repo: Path, manifest: str = SLI_MANIFEST) -> Path:
    """Write .ci-gen/monitoring/sli.json into `repo` as `ci-gen render` does; return its path."""
    from ci_gen.manifest import load_manifest_text
    from ci_gen.monitoring.sli import SLI_FILE, sli_json

    path = repo / SLI_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(sli_json(load_manifest_text(manifest)))
    return path

