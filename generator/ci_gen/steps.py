"""The shared step scripts: their names and the documentation in their headers."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .data import steps_dir
from .errors import UsageError


@dataclass(frozen=True)
class Step:
    name: str
    path: Path

    def header(self) -> list[str]:
        """The comment block right after the shebang: the step's documented interface."""
        lines = self.path.read_text(encoding="utf-8").splitlines()
        doc = []
        for line in lines[1:] if lines and lines[0].startswith("#!") else lines:
            if not line.startswith("#"):
                break
            doc.append(line[2:] if line.startswith("# ") else line[1:])
        return doc

    @property
    def summary(self) -> str:
        header = self.header()
        return header[0].strip() if header else ""


def all_steps() -> list[Step]:
    """Executable step entry points (helpers start with '_' and are not steps)."""
    root = steps_dir()
    return [Step(p.name, p) for p in sorted(root.iterdir())
            if p.is_file() and not p.name.startswith(("_", ".")) and "." not in p.name]


def find_step(name: str) -> Step:
    steps = {s.name: s for s in all_steps()}
    if name not in steps:
        raise UsageError(f"no step named '{name}'; steps: {', '.join(sorted(steps))}")
    return steps[name]
