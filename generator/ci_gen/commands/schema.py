"""`ci-gen schema`: the manifest JSON Schema (for editors and other tools), or its field reference."""
from __future__ import annotations

from dataclasses import dataclass

from ..data import schema_path
from ..output import emit_lines, emit_text


@dataclass(frozen=True)
class Request:
    docs: bool = False  # the field reference instead of the JSON Schema


def run(request: Request) -> int:
    if not request.docs:
        emit_text(schema_path().read_text(encoding="utf-8"))
        return 0
    from ..schema import load_schema
    from ..schemadocs import field_reference

    emit_lines(field_reference(load_schema()))
    return 0
