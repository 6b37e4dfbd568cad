"""A fleet's `discover: gitlab_group` entries: the projects of a GitLab group, as sync sources."""
from __future__ import annotations

from typing import Any

from ..sync_data import Source


def discover_group(gitlab: Any, group: str, exclude: tuple[str, ...], origin: object) -> list[Source]:
    """Every non-archived project in `group` and its subgroups (one paginated list)."""
    projects = gitlab.groups.get(group, lazy=True).projects.list(
        include_subgroups=True, archived=False, get_all=True, order_by="id", sort="asc")
    sources = []
    for project in projects:
        path = project.path_with_namespace
        if path in exclude or getattr(project, "archived", False) or getattr(project, "empty_repo", False):
            continue
        sources.append(Source(key=f"gitlab:{path}", origin=origin, gitlab_path=path,
                              default_branch=getattr(project, "default_branch", None),
                              repo_url=getattr(project, "http_url_to_repo", None), discovered=True))
    return sources
