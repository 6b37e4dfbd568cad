"""What a job sees: the environment both pipelines give it, plus the local run's additions.

A job's variables are, in the order GitLab applies them: the pipeline-wide CI_GEN_* values and
the manifest's `variables`, then the job's own values from the plan, then the variables a job
would get from a dotenv report of a job it needs, then `--var` (like a variable set when
starting a pipeline by hand). A few of GitLab's predefined variables are set so that steps that
read them (commit SHA, branch) behave as in CI. Secrets are kept apart: they are passed to the
container but never printed, and their values are registered with the redactor.
"""
from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from ..errors import UsageError
from ..plan import Job, Pipeline
from ..redaction import register

# Credential purposes as Jenkins binds them (targets/jenkins/renderer.py BINDINGS): the variables a job
# with that credential receives. File credentials hold a path on the host; the runner copies the
# file into the container and points the variable at the copy.
CREDENTIAL_VARIABLES = {
    "registry": ("CI_GEN_REGISTRY_USER", "CI_GEN_REGISTRY_PASSWORD"),
    "kubeconfig": ("KUBECONFIG",),
    "cosign": ("COSIGN_KEY",),
}
FILE_CREDENTIALS = frozenset({"KUBECONFIG", "COSIGN_KEY"})
SECRET_DIR = "/run/ci-gen/secrets"


@dataclass(frozen=True)
class GitInfo:
    sha: str
    branch: str


def git_info(root: Path) -> GitInfo:
    """The checkout's commit and branch; placeholders outside a git repository."""
    def ask(*args: str) -> str:
        try:
            proc = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.SubprocessError):
            return ""
        return proc.stdout.strip() if proc.returncode == 0 else ""

    sha = ask("rev-parse", "HEAD") or "0" * 40
    branch = ask("rev-parse", "--abbrev-ref", "HEAD")
    return GitInfo(sha, "" if branch == "HEAD" else branch or "main")


def parse_assignments(values: tuple[str, ...], option: str) -> tuple[tuple[str, str], ...]:
    """`K=V` strings from the command line."""
    pairs = []
    for value in values:
        key, sep, rest = value.partition("=")
        if not sep or not key or not key.replace("_", "a").isalnum():
            raise UsageError(f"{option} {value!r}: expected NAME=VALUE")
        pairs.append((key, rest))
    return tuple(pairs)


def read_secret_file(path: Path) -> dict[str, str]:
    """A dotenv-style file: NAME=VALUE lines, `#` comments, optional quotes around the value."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"--secret-file {path}: {exc.strerror or exc}") from None
    return parse_dotenv(text, f"--secret-file {path}")


def parse_dotenv(text: str, where: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.removeprefix("export ").partition("=")
        key = key.strip()
        if not sep or not key.replace("_", "a").isalnum():
            raise UsageError(f"{where}:{number}: expected NAME=VALUE")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key] = value
    return values


def job_secret_names(pipeline: Pipeline, job: Job) -> tuple[str, ...]:
    """The secret variables a job receives in CI: the manifest's secrets (project variables on
    GitLab, credentials on Jenkins) and the variables of the credentials bound to the job."""
    names = list(pipeline.secrets)
    if job.environment is not None and not any(c.purpose == "kubeconfig" for c in job.credentials):
        names.append("KUBECONFIG")  # GitLab gives a deploy job its cluster from a project variable
    for credential in job.credentials:
        names += [n for n in CREDENTIAL_VARIABLES.get(credential.purpose, ()) if n not in names]
    return tuple(names)


def collect_secrets(pipeline: Pipeline, jobs: tuple[Job, ...], from_file: dict[str, str],
                    environ: dict[str, str]) -> dict[str, str]:
    """Secret values for the selected jobs: the secret file first, then the environment; every
    value is registered with the redactor so that no log line or message can show it."""
    wanted = {name for job in jobs for name in job_secret_names(pipeline, job)}
    found = dict(from_file)
    for name in wanted:
        if name not in found and environ.get(name):
            found[name] = environ[name]
    register(*(value for name, value in found.items() if name not in FILE_CREDENTIALS))
    return found


def secrets_for(pipeline: Pipeline, job: Job, secrets: dict[str, str]) -> dict[str, str]:
    """The secrets one job gets: its own names, and secret-file entries that are not another
    job's credential."""
    credential_names = {n for names in CREDENTIAL_VARIABLES.values() for n in names}
    own = set(job_secret_names(pipeline, job))
    return {k: v for k, v in secrets.items() if k in own or k not in credential_names}


def job_environment(pipeline: Pipeline, job: Job, git: GitInfo, workdir: str,
                    dotenv: dict[str, str], overrides: tuple[tuple[str, str], ...]) -> dict[str, str]:
    """The non-secret variables of `job`, in the order GitLab applies them (later wins)."""
    env: dict[str, str] = {
        "CI": "true",
        "CI_JOB_NAME": job.name,
        "CI_JOB_STAGE": job.stage,
        "CI_PROJECT_DIR": workdir,
        "CI_COMMIT_SHA": git.sha,
        "CI_COMMIT_REF_NAME": git.branch,
        "CI_PIPELINE_SOURCE": "push",
    }
    if git.branch:
        env["CI_COMMIT_BRANCH"] = git.branch
    env.update(pipeline.env)
    env.update(pipeline.variables)
    env.update(job.env)
    env.update(dotenv)
    env.update(overrides)
    return env


def host_environment() -> dict[str, str]:
    return dict(os.environ)
