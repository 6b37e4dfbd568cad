"""The file-system boundary: every path a manifest names, every file ci-gen reads, writes or
removes in a repository, and every file it writes anywhere, goes through here.

The repository's content is untrusted (a merge request's author controls every committed byte,
symlinks included), so each operation resolves symlinks first and then checks that the real path
is inside the real root, and reads only regular files, bounded in size. Kept free of heavy
imports: `validate` and `render --check` use it on the pre-commit path.

Two writers over one atomic write: `write_file` for a repository (guarded against links out of
it) and `write_named_file` for a file the user named on the command line or ci-gen's cache, where
no repository boundary applies.
"""
from __future__ import annotations

import os
import posixpath
import re
import stat
from pathlib import Path

from .errors import UsageError, UserError
from .fingerprint import LOCK_FILE, STEPS_DIR

# Manifest fields holding repository paths.
MANIFEST_PATH_FIELDS = (("model", "path"), ("image", "dockerfile"), ("image", "context"), ("deploy", "manifests"),
                       ("infra", "dir"))

# ci-gen's largest generated file is a few tens of KB; a bigger one is not ours to read whole.
MAX_GENERATED_BYTES = 4 * 1024 * 1024

_SEGMENT = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")


def path_escape_reason(value: str, repo_root: Path | None) -> str | None:
    """Why `value` is not a path inside the repository, or None when it is.

    With a root, the path is resolved the way the OS opens it: each symlink first, then `..`
    against the real parent. Normalising `..` first would turn `link/../secret` into `secret`
    while the OS reads `<where link points>/../secret`."""
    if value.startswith("/") or value.startswith("\\") or (len(value) > 1 and value[1] == ":"):
        return f"'{value}' is absolute; paths are relative to the repository root"
    slashed = value.replace("\\", "/")
    normal = posixpath.normpath(slashed)
    if normal == ".." or normal.startswith("../"):
        return f"'{value}' leaves the repository"
    if repo_root is not None:
        root = Path(os.path.realpath(repo_root))
        if not is_within(root, Path(os.path.realpath(root / slashed))):
            return f"'{value}' resolves outside the repository (symlink?)"
    return None


def is_within(real_root: Path, real_path: Path) -> bool:
    """Whether `real_path` is `real_root` or below it (both already resolved)."""
    return real_path == real_root or real_root in real_path.parents


def resolve_inside(root: Path, rel: str) -> Path:
    """The real path of repository path `rel` (POSIX, relative), resolving every symlink; UserError
    naming the path when one leads outside the repository."""
    real_root = Path(os.path.realpath(root))
    real = Path(os.path.realpath(real_root / rel))
    if not is_within(real_root, real):
        raise UserError(_escape_message(real_root, rel))
    return real


def manifest_escape_reason(root: Path, manifest: Path) -> str | None:
    """Why a manifest inside the repository `root` may not be read: a symlink (`ci-gen.yaml` ->
    `~/.ssh/id_rsa`) taking it outside, whose content parse errors would quote. None when fine,
    and for a file named outside the repository on purpose (the caller's explicit choice)."""
    if not is_within(Path(os.path.abspath(root)), Path(os.path.abspath(manifest))):
        return None
    real = Path(os.path.realpath(manifest))
    if is_within(Path(os.path.realpath(root)), real):
        return None
    return f"a symlink to a file outside the repository ({real}); refusing to read it"


def _escape_message(real_root: Path, rel: str) -> str:
    parts = rel.split("/")
    for i in range(1, len(parts) + 1):
        prefix = "/".join(parts[:i])
        candidate = real_root.joinpath(*parts[:i])
        if candidate.is_symlink() and not is_within(real_root, Path(os.path.realpath(candidate))):
            return (f"{prefix}: a symlink leading outside the repository (to {os.path.realpath(candidate)}); "
                    "ci-gen reads and writes only inside it: replace it with a real file or directory")
    return f"{rel}: resolves outside the repository; ci-gen reads and writes only inside it"


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a device"),
                       (stat.S_ISBLK, "a device"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a regular file"


def read_file(root: Path, rel: str, limit: int = MAX_GENERATED_BYTES) -> bytes | None:
    """The bytes of the regular file `rel` in the repository, or None when it does not exist.

    Never hangs or exhausts memory: a FIFO is opened without blocking and refused, as is a
    device, a directory, a file over `limit` bytes, or a symlink leading outside the repository."""
    real = resolve_inside(root, rel)
    try:
        fd = os.open(real, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise UserError(f"{rel}: cannot read: {exc.strerror}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise UserError(f"{rel}: is {_kind(info.st_mode)}; ci-gen generates regular files: remove it and "
                            "run `ci-gen render`")
        if info.st_size > limit:
            raise UserError(f"{rel}: {info.st_size:,} bytes, more than ci-gen generates (limit {limit:,}): "
                            "remove it and run `ci-gen render`")
        chunks, size = [], 0
        while size <= limit:  # bounded even if the file grows after fstat
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:
            raise UserError(f"{rel}: more than {limit:,} bytes, more than ci-gen generates")
        return b"".join(chunks)
    finally:
        os.close(fd)


def is_executable(path: str) -> bool:
    """Whether ci-gen writes generated file `path` executable: the step scripts, not their data."""
    return path.startswith(STEPS_DIR + "/") and not path.endswith((".md", ".json"))


def _real_dir(real_root: Path, rel_dir: str, create: bool) -> Path | None:
    """The real directory `rel_dir` under the root, created when `create`; every existing
    component must be a directory, or a symlink to one, inside the repository."""
    current = real_root
    for part in [p for p in rel_dir.split("/") if p]:
        candidate = current / part
        try:
            info = os.lstat(candidate)
        except FileNotFoundError:
            if not create:
                return None
            try:
                os.mkdir(candidate)
            except FileExistsError:
                pass
            info = os.lstat(candidate)
        if stat.S_ISLNK(info.st_mode):
            target = Path(os.path.realpath(candidate))
            if not is_within(real_root, target):
                where = candidate.relative_to(real_root).as_posix()
                raise UserError(f"{where}: a symlink leading outside the repository (to {target}); ci-gen writes "
                                "only inside it: replace it with a real directory")
            try:
                candidate, info = target, os.stat(target)
            except OSError:
                where = candidate.relative_to(real_root).as_posix()
                raise UserError(f"{where}: a symlink to a missing directory ({target})") from None
        if not stat.S_ISDIR(info.st_mode):
            where = candidate.relative_to(real_root).as_posix() if is_within(real_root, candidate) else str(candidate)
            raise UserError(f"{where}: is {_kind(info.st_mode)}, where ci-gen needs a directory")
        current = candidate
    return current


def _require_plain(rel: str) -> None:
    # Generated paths come from ci-gen and schema-checked names; this keeps a future caller honest.
    if rel.startswith("/") or "\\" in rel or any(part in ("", ".", "..") for part in rel.split("/")):
        raise UserError(f"{rel}: not a plain path inside the repository; ci-gen writes only there")


def write_file(root: Path, rel: str, data: bytes, executable: bool = False) -> bool:
    """Write generated file `rel` (atomically) unless it already holds `data` with the right
    executable bit; True when written. The one writer of generated files: a symlink leading
    outside the repository, on the file or any folder above it, is refused, never written through."""
    _require_plain(rel)
    real_root = Path(os.path.realpath(root))
    parent_rel, name = posixpath.split(rel)
    parent = _real_dir(real_root, parent_rel, create=True)
    assert parent is not None
    target = parent / name
    try:
        info = os.lstat(target)
    except FileNotFoundError:
        info = None
    if info is not None and stat.S_ISLNK(info.st_mode):
        resolve_inside(root, rel)  # one inside the repository is replaced, not followed
    elif info is not None and not stat.S_ISREG(info.st_mode):
        raise UserError(f"{rel}: is {_kind(info.st_mode)}, where ci-gen writes a regular file: remove it")
    elif info is not None and info.st_size == len(data) and bool(info.st_mode & 0o100) == executable:
        if read_file(root, rel) == data:
            return False
    _replace_atomically(parent, name, data, 0o755 if executable else 0o644)
    return True


def write_named_file(path: Path, data: bytes, *, private: bool = False, exclusive: bool = False) -> None:
    """Write a file the user named (a report, `--junit`, the manifest `init` or `import` creates)
    or one of ci-gen's own cache, atomically, creating its folders. There is no repository to keep
    it in: the user chose the place, links in the folders above included. The name itself is never
    written through when it is a symlink; `private` files are the user's alone (0600 in 0700
    folders), others get the mode a plain `open` gives; `exclusive` never replaces an existing file.
    UsageError naming the path when the system refuses."""
    try:
        info: os.stat_result | None = os.lstat(path)
    except FileNotFoundError:
        info = None
    except OSError as exc:
        raise UsageError(f"{path}: cannot write: {exc.strerror}") from None
    if info is not None and stat.S_ISLNK(info.st_mode):
        raise UserError(f"{path}: a symlink; ci-gen does not write through links: remove it or name a plain file")
    if info is not None and exclusive:
        raise UserError(f"{path}: already exists; not overwriting it")
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700 if private else 0o777)
        _replace_atomically(path.parent, path.name, data, 0o600 if private else None, exclusive)
    except FileExistsError:  # appeared since the check above
        raise UserError(f"{path}: already exists; not overwriting it") from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot write: {exc.strerror}") from None


def _replace_atomically(folder: Path, name: str, data: bytes, mode: int | None, exclusive: bool = False) -> None:
    """The one atomic write: the bytes go to a new file beside `folder/name`, which then takes the
    name in one rename (one hard link when `exclusive`), so a reader, a crash or a failed write
    sees the old file or the new one, never a part. `mode` None: 0666 less the umask, as `open`."""
    for _ in range(100):
        tmp = folder / f".{name}.{os.urandom(6).hex()}"
        try:  # O_EXCL: never opens an existing file or follows a planted link
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o666)
            break
        except FileExistsError:
            continue
    else:
        raise FileExistsError(f"{folder}: no free temporary name")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        if mode is not None:
            os.chmod(tmp, mode)
        if exclusive:
            os.link(tmp, folder / name)  # fails when the name exists, even as a dangling link
            os.unlink(tmp)
        else:
            os.replace(tmp, folder / name)
    except BaseException:
        if os.path.lexists(tmp):
            os.unlink(tmp)
        raise


def remove_file(root: Path, rel: str) -> bool:
    """Remove generated file `rel` if it is a regular file inside the repository; True when removed.
    Callers pass only paths ci-gen generates (see `could_be_generated`)."""
    _require_plain(rel)
    real_root = Path(os.path.realpath(root))
    parent_rel, name = posixpath.split(rel)
    parent = _real_dir(real_root, parent_rel, create=False)
    if parent is None:
        return False
    target = parent / name
    try:
        info = os.lstat(target)
    except FileNotFoundError:
        return False
    if not stat.S_ISREG(info.st_mode):
        return False  # not what ci-gen wrote there: leave it alone
    os.unlink(target)
    return True


def could_be_generated(rel: str, target_files: frozenset[str]) -> bool:
    """Whether `rel` is a path a ci-gen render writes: a target file (`.gitlab-ci.yml`,
    `Jenkinsfile`) or a file in ci-gen's own folder `.ci-gen/` (steps, Kubernetes manifests, and
    what later versions add there), spelled in plain segments: no absolute path, no `..` or `.`,
    no hidden name. The lock itself and the folders the pipelines write at run time are not.

    The lock file's list is data a merge request can forge; only paths passing this test are
    ever removed or reported as obsolete."""
    from .fingerprint import OUT_DIR, REPORT_DIR

    if not isinstance(rel, str) or rel == LOCK_FILE:
        return False
    if rel in target_files:
        return True
    managed = posixpath.dirname(LOCK_FILE) + "/"
    if not rel.startswith(managed) or rel.startswith((OUT_DIR + "/", REPORT_DIR + "/")):
        return False
    return all(_SEGMENT.fullmatch(part) for part in rel[len(managed):].split("/"))


def check_out_dir(out: str) -> Path:
    """`--out DIR`: a directory, or a path that does not exist yet; anything else is a usage error."""
    path = Path(out)
    if os.path.lexists(path) and not path.is_dir():
        raise UsageError(f"--out {out}: not a directory")
    return path
