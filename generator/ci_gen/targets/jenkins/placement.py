"""Where a fleet's Jenkins jobs may live, and which jobs on the server are the fleet's to change.

The fleet file owns placement, not the manifests it lists: a manifest is written by the project's
team (or by whoever opens a merge request there), so its `jenkins.folder` may only choose a place
inside the folder the fleet gives it. `--prune` judges only jobs inside that folder. A path is
checked segment by segment before any URL is built from it: `..` or `.` would be normalised away
by the HTTP client and land the request on another item.
"""
from __future__ import annotations

from ...errors import UserError

# Jenkins' checkGoodName: these characters, control characters, `.`/`..` and a trailing dot.
_UNSAFE = set("?*/\\%!@#$^&|<>[]:;")


def segment_problem(segment: str) -> str | None:
    """Why Jenkins (or a URL) would not keep this one item name as written; None when it is good."""
    if not segment:
        return "an empty name (two slashes, or a slash at an end)"
    if segment in (".", ".."):
        return f"'{segment}' is not a name (it would move the request to another item)"
    if segment != segment.strip():
        return f"'{segment}' starts or ends with a space"
    if segment.endswith("."):
        return f"'{segment}' ends with '.'"
    for char in segment:
        if char in _UNSAFE or ord(char) < 32 or 127 <= ord(char) < 160:
            return f"'{segment}' holds the character {char!r}"
    return None


def path_problem(path: str) -> str | None:
    """The first bad segment of a folder or job path `a/b/c`; None when every one is good."""
    for segment in path.split("/"):
        problem = segment_problem(segment)
        if problem is not None:
            return problem
    return None


def check_path(path: str, what: str) -> str:
    problem = path_problem(path)
    if problem is not None:
        raise UserError(f"{what} '{path}': {problem}")
    return path


def inside(path: str, folder: str | None) -> bool:
    """`path` is `folder` or below it (Jenkins compares names case-insensitively); every path is
    inside the root (`folder` None or empty)."""
    if not folder:
        return True
    path, folder = path.lower(), folder.lower()
    return path == folder or path.startswith(folder + "/")


def place(fleet_folder: str | None, manifest_folder: str | None, name: str) -> str:
    """The full name of a project's job. A manifest's folder must be the fleet's folder or one
    below it; without one, the job goes into the fleet's folder."""
    if fleet_folder:
        check_path(fleet_folder, "fleet folder")
    folder = manifest_folder or fleet_folder or ""
    if folder:
        check_path(folder, "jenkins.folder")
    if manifest_folder and not inside(manifest_folder, fleet_folder):
        raise UserError(f"jenkins.folder '{manifest_folder}' is outside the fleet's folder '{fleet_folder}': "
                        "the fleet file decides where its jobs go; use that folder or one below it")
    check_path(name, "job name")
    return f"{folder}/{name}" if folder else name
