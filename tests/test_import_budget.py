"""The pre-commit path never imports heavy libraries.

`ci-gen validate` and `ci-gen render --check` run on every commit; DESIGN.md promises they start
fast, so the server clients (python-gitlab, python-jenkins), docker, rich and Jinja2 must stay
out of them. This is a correctness test on what is imported (read from `python -X importtime`),
not a timing test: timings live in benchmarks/.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
HEAVY = ("gitlab", "jenkins", "docker", "rich", "jinja2", "grafana_foundation_sdk", "hcl2", "lark")


def imported_modules(args: list[str], cwd: Path, exit_code: int = 0, cache: Path | None = None) -> set[str]:
    """Every module the CLI imports for `args`, as reported by `-X importtime`; `cache` gives the
    process an empty cache directory of its own (nothing verified yet: a fresh CI runner)."""
    env = {**os.environ, "NO_COLOR": "1", **({"XDG_CACHE_HOME": str(cache)} if cache else {})}
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "ci_gen", *args], cwd=cwd,
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == exit_code, proc.stdout + proc.stderr[-3000:]
    return {line.rsplit("|", 1)[1].strip() for line in proc.stderr.splitlines()
            if line.startswith("import time:") and "|" in line}


def heavy(modules: set[str], packages: tuple[str, ...] = HEAVY) -> list[str]:
    return sorted(m for m in modules if m.split(".")[0] in packages)


@pytest.fixture(scope="module")
def rendered_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    repo = tmp_path_factory.mktemp("import-budget") / "fraud-detector"
    shutil.copytree(REPO / "examples" / "fraud-detector", repo)
    proc = subprocess.run([sys.executable, "-m", "ci_gen", "render"], cwd=repo, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return repo


@pytest.fixture(scope="module")
def edited_manifest(rendered_repo: Path) -> str:
    """The manifest changed since the last render: validate cannot lean on the lock."""
    edited = rendered_repo / "edited.yaml"
    edited.write_text((rendered_repo / "ci-gen.yaml").read_text() + "\n# edited\n")
    return edited.name


def test_validate_imports_no_heavy_library(rendered_repo: Path, edited_manifest: str, tmp_path: Path) -> None:
    modules = imported_modules(["validate", "-f", edited_manifest], rendered_repo, cache=tmp_path)
    assert "ci_gen.validation" in modules  # it really validated, rather than failing early
    assert heavy(modules) == []


def test_validate_of_an_unchanged_rendered_manifest_trusts_its_own_record(rendered_repo: Path) -> None:
    # `render` in the fixture left a verified record in the (test session's) user cache directory.
    modules = imported_modules(["validate"], rendered_repo)
    assert heavy(modules) == []
    assert not {"ci_gen.validation", "ruamel.yaml", "ci_gen.manifest"} & modules


def test_validate_of_a_valid_manifest_does_not_import_jsonschema(rendered_repo: Path, edited_manifest: str,
                                                                  tmp_path: Path) -> None:
    # ci_gen.schemacheck proves a valid manifest valid; jsonschema is needed only to word errors.
    modules = imported_modules(["validate", "-f", edited_manifest], rendered_repo, cache=tmp_path)
    assert "ci_gen.validation" in modules
    found = heavy(modules, ("jsonschema", "referencing"))
    assert found == [], ("ci_gen.schemacheck could not prove the example valid, so validate fell back to "
                         "jsonschema: does the schema use a keyword schemacheck does not know?")


def test_render_check_imports_no_heavy_library(rendered_repo: Path) -> None:
    modules = imported_modules(["render", "--check"], rendered_repo)
    assert heavy(modules) == []
    # Up to date and rendered by this ci-gen before: its record settles it without loading the
    # model, the plan or templates.
    assert not {"ci_gen.manifest", "ci_gen.generated", "ci_gen.templating"} & modules


def test_render_check_with_drift_still_avoids_server_clients(rendered_repo: Path, tmp_path: Path) -> None:
    repo = tmp_path / "drifted"
    shutil.copytree(rendered_repo, repo)
    with open(repo / "Jenkinsfile", "a", encoding="utf-8") as handle:
        handle.write("// hand edit\n")
    modules = imported_modules(["render", "--check"], repo, exit_code=1)
    # Finding out *what* drifted means rendering, so Jinja2 is allowed here; the rest is not.
    assert heavy(modules, ("gitlab", "jenkins", "docker", "rich")) == []


def test_render_check_with_a_cold_cache_still_avoids_server_clients(rendered_repo: Path, tmp_path: Path) -> None:
    # No verified record (a fresh CI runner): the committed lock proves nothing, so the check
    # renders in full (Jinja2 is allowed), and still loads no server client.
    modules = imported_modules(["render", "--check"], rendered_repo, cache=tmp_path)
    assert "ci_gen.generated" in modules
    assert heavy(modules, ("gitlab", "jenkins", "docker", "rich")) == []


def test_run_imports_docker_only_to_talk_to_a_daemon(rendered_repo: Path) -> None:
    # `ci-gen run` is the one command that imports the docker package, and only for a real run:
    # listing the jobs or printing the API calls of a dry run needs no daemon and no client.
    for args in (["run", "--list"], ["run", "--dry-run", "--only", "scan-secrets"]):
        assert heavy(imported_modules(args, rendered_repo), ("docker",)) == [], args


def test_report_imports_its_heavy_libraries_only_when_it_needs_them(rendered_repo: Path, tmp_path: Path) -> None:
    # From an empty cache, without servers: no fit (statsmodels), no charts (altair, vl-convert),
    # no server client. Each is imported inside the function that uses it.
    cache = tmp_path / "empty.sqlite"
    modules = imported_modules(["report", "--offline", "--cache", str(cache), "-o", "json"], rendered_repo)
    assert "ci_gen.report.metrics" in modules  # it really reported
    assert heavy(modules, ("statsmodels", "pandas", "altair", "vl_convert", "gitlab", "jenkins")) == []
