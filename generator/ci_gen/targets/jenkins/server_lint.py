"""The Jenkinsfile checked by Jenkins' declarative validator (`pipeline-model-converter`)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from ...errors import ServerError
from ..base import ServerLint

if TYPE_CHECKING:
    from ...manifest import Manifest

FILE = "Jenkinsfile"


def lint_on_server(connect: Callable[[], Any], manifest: Manifest, content: str, options: Any) -> ServerLint:
    client = connect()
    try:
        errors = client.check_jenkinsfile_syntax(content)
    except Exception as exc:  # noqa: BLE001 - python-jenkins raises several unrelated types
        raise ServerError(f"Jenkins declarative validator failed: {type(exc).__name__}: "
                          f"{str(exc).splitlines()[0] if str(exc) else ''}") from None
    return ServerLint(FILE, "jenkins", [_error_line(e) for e in errors])


def _error_line(entry: Any) -> str:
    """Jenkins reports `{"error": str | [str]}` entries; flatten them to lines."""
    if isinstance(entry, dict):
        value = entry.get("error", entry)
        return "; ".join(map(str, value)) if isinstance(value, list) else str(value)
    return str(entry)
