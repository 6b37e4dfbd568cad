"""Read-only commands: `ci-gen schema` and `ci-gen steps list|show`."""
from __future__ import annotations

import sys

from ..data import schema_path
from ..output import emit
from ..steps import all_steps, find_step


def schema(docs: bool = False) -> int:
    if not docs:
        sys.stdout.write(schema_path().read_text(encoding="utf-8"))
        return 0
    from ..schema import load_schema
    from ..schemadocs import field_reference

    sys.stdout.write("".join(line + "\n" for line in field_reference(load_schema())))
    return 0


def steps_list(fmt: str) -> int:
    steps = all_steps()
    width = max((len(s.name) for s in steps), default=0)
    emit(fmt, [f"{s.name:<{width}}  {s.summary}" for s in steps],
         {"steps": [{"name": s.name, "summary": s.summary} for s in steps]})
    return 0


def steps_show(name: str, fmt: str) -> int:
    step = find_step(name)
    emit(fmt, step.header(), {"name": step.name, "header": step.header()})
    return 0
