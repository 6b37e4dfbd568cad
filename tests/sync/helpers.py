"""Shared pieces of the sync tests: manifests, fleet files and request counting."""
from __future__ import annotations

import textwrap
from pathlib import Path


def manifest(name: str, *, folder: str | None = "ml", variables: dict[str, str] | None = None,
             secrets: tuple[str, ...] = (), schedules: tuple[tuple[str, str], ...] = (),
             targets: str = "[gitlab, jenkins]", extra: str = "") -> str:
    """A small valid ci-gen.yaml."""
    lines = [
        "version: 1",
        f"name: {name}",
        f"targets: {targets}",
        f"image: {{name: registry.example.com/ml/{name}}}",
    ]
    if folder:
        lines.append(f"jenkins: {{folder: {folder}}}")
    if variables:
        lines.append("variables:")
        lines += [f"  {k}: {v!r}" for k, v in variables.items()]
    if secrets:
        lines.append(f"secrets: [{', '.join(secrets)}]")
    if schedules:
        lines.append("schedules:")
        lines += [f"  - {{name: {n}, cron: '{c}', branch: main}}" for n, c in schedules]
    return "\n".join(lines) + "\n" + textwrap.dedent(extra)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def local_fleet(root: Path, manifests: dict[str, str], extra: str = "") -> Path:
    """A fleet of local checkouts `root/repos/<dir>` holding the given manifests."""
    entries = []
    for directory, text in manifests.items():
        write(root / "repos" / directory / "ci-gen.yaml", text)
        entries.append(f"  - {{path: repos/{directory}, ref: main, repo_url: 'https://git.example.com/{directory}.git'}}")
    body = "version: 1\n" + extra + "projects:\n" + "\n".join(entries) + "\n"
    return write(root / "fleet.yaml", body)
