"""`ci-gen steps [list|show NAME]`: the shared step scripts the pipelines call."""
from __future__ import annotations

from dataclasses import dataclass

from ..output import emit
from ..steps import all_steps, find_step


@dataclass(frozen=True)
class Request:
    name: str | None = None  # show this step's interface; None: list them all
    fmt: str = "text"


def run(request: Request) -> int:
    if request.name is not None:
        step = find_step(request.name)
        emit(request.fmt, step.header(), {"name": step.name, "header": step.header()})
        return 0
    found = all_steps()
    width = max((len(s.name) for s in found), default=0)
    emit(request.fmt, [f"{s.name:<{width}}  {s.summary}" for s in found],
         {"steps": [{"name": s.name, "summary": s.summary} for s in found]})
    return 0
