"""`.gitlab-ci.yml` checked by the project's CI Lint API, in the context of the project that runs it
(its includes, variables and runners)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from ...errors import ServerError, UsageError
from ..base import ServerLint

if TYPE_CHECKING:
    from ...manifest import Manifest

FILE = ".gitlab-ci.yml"


def lint_on_server(connect: Callable[[], Any], manifest: Manifest, content: str, options: Any) -> ServerLint:
    """`options.gitlab_project` (lint's `--gitlab-project`) over the manifest's `gitlab.project`."""
    project = getattr(options, "gitlab_project", None) or manifest.gitlab.project
    if project is None:
        raise UsageError("GitLab lints in a project's context: set gitlab.project in the manifest "
                         "or pass --gitlab-project")
    client = connect()
    import gitlab

    try:
        # Few retries: an interactive check should fail fast when the server is down.
        result = client.projects.get(project, lazy=True).ci_lint.create({"content": content}, max_retries=2)
    except gitlab.GitlabError as exc:
        if exc.response_code in (401, 403, 404):
            raise UsageError(f"GitLab CI Lint for {project}: {exc.response_code} {exc.error_message}") from None
        raise ServerError(f"GitLab CI Lint for {project} failed: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - connection failures: one line, exit 3
        raise ServerError(f"GitLab unreachable for CI Lint: {type(exc).__name__}") from None
    return ServerLint(FILE, "gitlab", list(getattr(result, "errors", []) or []),
                      list(getattr(result, "warnings", []) or []))
