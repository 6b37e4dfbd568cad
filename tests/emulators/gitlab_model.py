"""GitLab's data: users, groups, projects and a git repository with real object ids.

Blob and tree ids are the ones git computes (`sha1("blob <len>\\0" + content)` and tree objects
over sorted entries), so ci-gen can compare its rendered files with the tree API by hashing
locally, as it would against a real server.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

GUEST, REPORTER, DEVELOPER, MAINTAINER, OWNER = 10, 20, 30, 40, 50


def now_iso() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def blob_id(content: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()


@dataclass
class User:
    id: int
    username: str
    name: str
    role: int = MAINTAINER  # access level on every project it may see
    projects: set[int] | None = None  # None: a member of all projects

    def entity(self, base: str) -> dict[str, Any]:
        return {"id": self.id, "username": self.username, "name": self.name,
                "state": "active", "locked": False, "avatar_url": None,
                "web_url": f"{base}/{self.username}"}


@dataclass
class Group:
    id: int
    name: str
    path: str
    parent: "Group | None" = None

    @property
    def full_path(self) -> str:
        return f"{self.parent.full_path}/{self.path}" if self.parent else self.path


@dataclass
class Commit:
    id: str
    parent_ids: list[str]
    files: dict[str, bytes]
    executable: set[str]
    message: str
    author_name: str
    author_email: str
    created_at: str

    def entity(self, base: str, project_path: str) -> dict[str, Any]:
        title = self.message.split("\n", 1)[0]
        return {"id": self.id, "short_id": self.id[:8], "title": title, "message": self.message,
                "author_name": self.author_name, "author_email": self.author_email,
                "authored_date": self.created_at, "committer_name": self.author_name,
                "committer_email": self.author_email, "committed_date": self.created_at,
                "created_at": self.created_at, "parent_ids": self.parent_ids,
                "web_url": f"{base}/{project_path}/-/commit/{self.id}", "trailers": {},
                "extended_trailers": {}}


def _tree_id(files: dict[str, bytes], executable: set[str], prefix: str) -> str:
    entries: list[tuple[str, bytes]] = []  # (sort key, raw entry)
    names = {p[len(prefix):].split("/", 1)[0] for p in files if p.startswith(prefix)}
    for name in names:
        path = prefix + name
        if path in files:
            mode = b"100755" if path in executable else b"100644"
            raw = mode + b" " + name.encode() + b"\0" + bytes.fromhex(blob_id(files[path]))
            entries.append((name, raw))
        else:
            sub = _tree_id(files, executable, path + "/")
            entries.append((name + "/", b"40000 " + name.encode() + b"\0" + bytes.fromhex(sub)))
    body = b"".join(raw for _, raw in sorted(entries))
    return hashlib.sha1(b"tree %d\0" % len(body) + body).hexdigest()


@dataclass
class Repo:
    commits: dict[str, Commit] = field(default_factory=dict)
    branches: dict[str, str] = field(default_factory=dict)  # name -> commit id

    @property
    def empty(self) -> bool:
        return not self.branches

    def resolve(self, ref: str | None) -> Commit | None:
        """A branch name, a full or abbreviated (7+) commit id."""
        if ref is None:
            return None
        if ref in self.branches:
            return self.commits[self.branches[ref]]
        if ref in self.commits:
            return self.commits[ref]
        if len(ref) >= 7:
            matches = [c for sha, c in self.commits.items() if sha.startswith(ref)]
            return matches[0] if len(matches) == 1 else None
        return None

    def commit(self, parent: Commit | None, files: dict[str, bytes], executable: set[str],
               message: str, author: tuple[str, str]) -> Commit:
        created = now_iso()
        parents = [parent.id] if parent else []
        text = "tree %s\n%sauthor %s <%s> %s\n\n%s" % (
            _tree_id(files, executable, ""), "".join(f"parent {p}\n" for p in parents),
            author[0], author[1], created, message)
        sha = hashlib.sha1(b"commit %d\0" % len(text.encode()) + text.encode()).hexdigest()
        commit = Commit(sha, parents, dict(files), set(executable) & set(files), message,
                        author[0], author[1], created)
        self.commits[sha] = commit
        return commit

    def last_commit_for(self, path: str, start: Commit) -> str:
        """The newest commit, from `start` back, that changed `path`."""
        current = start
        while current.parent_ids:
            parent = self.commits[current.parent_ids[0]]
            if parent.files.get(path) != current.files.get(path):
                return current.id
            current = parent
        return current.id

    def tree(self, commit: Commit, path: str, recursive: bool) -> list[dict[str, Any]] | None:
        """Tree entries under `path` (None if no such directory), in Gitaly's order."""
        prefix = path.strip("/") + "/" if path.strip("/") else ""
        if prefix and not any(p.startswith(prefix) for p in commit.files):
            return None
        entries: dict[str, dict[str, Any]] = {}
        for file_path in commit.files:
            if not file_path.startswith(prefix):
                continue
            parts = file_path[len(prefix):].split("/")
            depth = len(parts) if recursive else 1
            for level in range(1, min(depth, len(parts)) + 1):
                sub = prefix + "/".join(parts[:level])
                if sub in entries:
                    continue
                if level == len(parts):
                    mode = "100755" if sub in commit.executable else "100644"
                    entries[sub] = {"id": blob_id(commit.files[sub]), "name": parts[level - 1],
                                    "type": "blob", "path": sub, "mode": mode}
                else:
                    entries[sub] = {"id": _tree_id(commit.files, commit.executable, sub + "/"),
                                    "name": parts[level - 1], "type": "tree", "path": sub,
                                    "mode": "040000"}
        if recursive:  # git's order: a tree sorts as "name/", its entries right after it
            return sorted(entries.values(),
                          key=lambda e: e["path"] + ("/" if e["type"] == "tree" else ""))
        return sorted(entries.values(), key=lambda e: (e["type"] != "tree", e["name"]))


@dataclass
class Project:
    id: int
    name: str
    path: str
    namespace: Group | User
    visibility: str = "private"
    description: str | None = None
    repo: Repo = field(default_factory=Repo)
    default_branch: str | None = None
    protected_branches: set[str] = field(default_factory=set)
    variables: list[dict[str, Any]] = field(default_factory=list)
    schedules: list[dict[str, Any]] = field(default_factory=list)
    merge_requests: list[dict[str, Any]] = field(default_factory=list)
    pipelines: list[dict[str, Any]] = field(default_factory=list)
    jobs: list[dict[str, Any]] = field(default_factory=list)
    created_at: str = field(default_factory=now_iso)

    @property
    def namespace_path(self) -> str:
        ns = self.namespace
        return ns.full_path if isinstance(ns, Group) else ns.username

    @property
    def full_path(self) -> str:
        return f"{self.namespace_path}/{self.path}"
