"""The command line: click options in, one function call, an exit code out.

Only `main` turns exceptions into exit codes; heavy modules (Jinja2, the server clients) are
imported inside the commands that use them so that the pre-commit path starts fast.
"""
from __future__ import annotations

import sys
from typing import Any, Callable

import click

from . import __version__
from .errors import CiGenError
from .output import emit_problems
from .targets import SERVER_TARGETS, TARGETS

FORMATS = click.Choice(["text", "json"])


def common(func: Callable[..., Any]) -> Callable[..., Any]:
    """-C DIR, -f FILE and --output, shared by every command that reads a manifest."""
    func = click.option("-o", "--output", "fmt", type=FORMATS, default="text", show_default=True,
                        help="Result format; json for machines.")(func)
    func = click.option("-f", "--file", "manifest", metavar="FILE",
                        help="Manifest path (default: ci-gen.yaml in the -C directory).")(func)
    func = click.option("-C", "--directory", metavar="DIR", help="Run as if started in DIR (the repository root).")(func)
    return func


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="ci-gen")
def cli() -> None:
    """Render and keep in step the CI pipelines of model applications from one ci-gen.yaml."""


@cli.command()
@common
def validate(**options: Any) -> int:
    """Check ci-gen.yaml: schema and semantic rules, every problem in one run."""
    from .commands import validate as command

    return command.run(command.Request(**options))


def _moved_to_fleet_pipeline(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    if value is not None:
        raise click.UsageError(f"render --fleet is now its own command: ci-gen fleet-pipeline {value} "
                               "[--out DIR] [--shards N] ...", ctx)


@cli.command()
@common
@click.option("--check", is_flag=True, help="Exit 1 if a generated file is missing, stale or hand-edited.")
@click.option("--diff", is_flag=True, help="Print a unified diff of what render would change.")
@click.option("--force", is_flag=True,
              help="Replace a .gitlab-ci.yml or Jenkinsfile that ci-gen did not generate (see `ci-gen import`).")
@click.option("--out", metavar="DIR", help="Write into DIR instead of the repository.")
@click.option("--target", "targets", multiple=True, type=click.Choice(list(TARGETS)),
              help="Render only this target (repeatable).")
@click.option("--fleet", hidden=True, expose_value=False, callback=_moved_to_fleet_pipeline)
def render(**options: Any) -> int:
    """Write the CI files of the manifest's targets and .ci-gen/ from the manifest."""
    from .commands import render as command

    return command.run(command.Request(**options))


@cli.command("fleet-pipeline")
@click.argument("fleet", metavar="FLEET_FILE")
@click.option("--out", metavar="DIR", help="Write into DIR (default: the current directory, the platform repository).")
@click.option("--force", is_flag=True, help="Replace a pipeline file there that ci-gen did not write.")
@click.option("--shards", type=click.IntRange(min=1), default=1, show_default=True, help="Parallel sync jobs.")
@click.option("--schedule", "sync_cron", default="0 */4 * * *", show_default=True, help="Sync cron.")
@click.option("--drift-schedule", "drift_cron", default="30 7 * * 1-5", show_default=True, help="Drift alarm cron.")
@click.option("--report-schedule", "report_cron", default="0 6 * * *", show_default=True,
              help="Deployment report cron (ci-gen report).")
@click.option("--jobs", type=click.IntRange(min=1), default=8, show_default=True, help="Workers per shard.")
@click.option("--prune/--no-prune", default=True, help="Prune job: delete jobs whose project left the fleet (default on).")
@click.option("--image", default="python:3.11-slim", show_default=True, help="Image of the sync jobs.")
@click.option("--runner-tag", "runner_tags", multiple=True, help="GitLab runner tag (repeatable; default docker).")
@click.option("--jenkins-label", default="linux", show_default=True, help="Jenkins agent label.")
@click.option("-o", "--output", "fmt", type=FORMATS, default="text", show_default=True, help="Result format.")
def fleet_pipeline(**options: Any) -> int:
    """Write the platform repository's pipeline that syncs FLEET_FILE on a schedule, sharded."""
    from .commands import fleet_pipeline as command

    return command.run(command.Request(**options))


def server_credentials(command: Callable[..., Any]) -> Callable[..., Any]:
    """The credential sources sync and report share, besides the environment and the fleet file."""
    for option in reversed((
        click.option("--gitlab-config", metavar="FILE", multiple=True, help="python-gitlab config file (repeatable)."),
        click.option("--gitlab-id", metavar="NAME", help="Section of the python-gitlab config file."),
        click.option("--jenkins-ini", metavar="FILE", help="Jenkins Job Builder ini file with url/user/password."),
        click.option("--jenkins-section", metavar="NAME", help="Section of the JJB ini file (default: jenkins)."),
    )):
        command = option(command)
    return command


@cli.command()
@common
@click.option("--server", is_flag=True, help="Check with the servers' own validators (GitLab CI Lint, Jenkins' "
              "declarative validator) instead.")
@click.option("--gitlab-project", metavar="PATH", help="--server: project whose CI Lint context to use (default: gitlab.project).")
@click.option("--timeout", type=click.FloatRange(min=1), help="--server: seconds per request (default: 30).")
@click.option("--out", metavar="DIR", help="Lint the files `render --out DIR` wrote there instead of the repository's.")
def lint(**options: Any) -> int:
    """Validate the pipelines: offline (each CI system's own validator) or with --server."""
    from .commands import lint as command

    return command.run(command.Request(**options))


@cli.command()
@common
@click.option("--name", help="Application name: lowercase letters, digits and '-' (default in a terminal: the "
              "directory's name). Also the Kubernetes namespace of both environments.")
@click.option("--image", help="Image repository without a tag, e.g. registry.example.com/ml/app "
              "(ci-gen tags with the commit SHA).")
@click.option("--model", "model_path", metavar="PATH",
              help="Model file (a SavedModel directory for tensorflow) relative to the repository root; "
              "omit for an app without a model.")
@click.option("--framework", type=click.Choice(["pytorch", "onnx", "tensorflow", "sklearn"]),
              help="Framework of --model (default: from its extension, .pkl/.joblib sklearn, .onnx onnx, "
              "else pytorch; asked in a terminal); picks the example input shape (image or tabular) "
              "and the base image (CUDA for pytorch, python:3.11-slim otherwise).")
@click.option("--strategy", type=click.Choice(["rolling", "blue-green", "canary"]), default="rolling",
              show_default=True, help="Deployment strategy; canary adds a Prometheus analysis block to fill in.")
@click.option("--target", "targets", multiple=True, type=click.Choice(list(TARGETS)),
              help="CI system to generate for (repeatable; default gitlab and jenkins).")
def init(**options: Any) -> int:
    """Write a commented starter ci-gen.yaml.

    In a terminal it asks for what the flags leave out and checks each answer as it is given;
    otherwise --name and --image are required and errors name the flag. It never overwrites an
    existing manifest. Every field of the manifest: `ci-gen schema --docs`.
    """
    from .commands import init as command

    return command.run(command.Request(**options, interactive=sys.stdin.isatty()))


@cli.command("import")
@common
@click.option("--force", is_flag=True, help="Replace an existing manifest.")
@click.option("--stdout", is_flag=True, help="Print the draft instead of writing it.")
@click.option("--gitlab", metavar="FILE", help="Read this GitLab CI file (default: .gitlab-ci.yml if present).")
@click.option("--jenkins", metavar="FILE", help="Read this Jenkinsfile (default: Jenkinsfile if present).")
def import_(**options: Any) -> int:
    """Draft ci-gen.yaml from a hand-written .gitlab-ci.yml and/or declarative Jenkinsfile."""
    from .commands import import_ as command

    return command.run(command.Request(**options))


@cli.command()
@click.option("-C", "--directory", metavar="DIR", help="Single-repository mode: the checkout to sync (default: .).")
@click.option("--fleet", metavar="FILE", help="Sync every project of this fleet file instead of one checkout.")
@click.option("--dry-run", is_flag=True, help="Plan and print; write nothing.")
@click.option("--check", is_flag=True, help="Like --dry-run; exit 1 when anything would change (drift alarm).")
@click.option("--diff", is_flag=True, help="Print unified diffs of planned changes (secret values redacted).")
@click.option("--verify", is_flag=True, help="Check each live Jenkins config.xml too (reports UI edits).")
@click.option("--prune", is_flag=True, help="With --fleet: delete this fleet's Jenkins jobs whose project left the fleet.")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=4, show_default=True, help="Parallel workers.")
@click.option("--shard", metavar="I/N", help="With --fleet: sync only shard I of N (1-based), for parallel CI jobs.")
@click.option("--timeout", type=click.FloatRange(min=1), help="Seconds per HTTP request (default: 30).")
@click.option("--mode", "gitlab_mode", type=click.Choice(["merge-request", "commit"]),
              help="GitLab: open/update a merge request, or commit to the branch (default: the fleet's, else merge-request).")
@click.option("--jenkins-definition", type=click.Choice(["scm", "inline"]),
              help="Jenkins jobs read the Jenkinsfile from git (scm) or embed it (inline).")
@click.option("--only", type=click.Choice(list(SERVER_TARGETS)), help="Write to one kind of server only.")
@click.option("--report", metavar="FILE", help="Write a JSON report here.")
@click.option("--junit", metavar="FILE", help="Write a JUnit XML report here (one test case per project).")
@server_credentials
@click.option("--progress/--no-progress", default=None, help="Progress bar (default: when stderr is a terminal).")
@click.option("-o", "--output", "fmt", type=FORMATS, default="text", show_default=True,
              help="Summary table, or the JSON report on stdout.")
def sync(**options: Any) -> int:
    """Bring Jenkins jobs and GitLab projects in line with the manifests: plan, then apply."""
    from .commands import sync as command

    return command.run(command.Request(**options))


@cli.command("run")
@common
@click.argument("jobs", nargs=-1)
@click.option("--list", "list_jobs", is_flag=True, help="Show the jobs that would run, with their images and needs.")
@click.option("--dry-run", is_flag=True, help="Print the Docker Engine API calls instead of making them.")
@click.option("--include-deploy", is_flag=True, help="Go on past the first deploy job (needs a reachable cluster).")
@click.option("--only", is_flag=True, help="Run only the named jobs, not the jobs they need.")
@click.option("--bind", is_flag=True, help="Mount the working tree instead of copying it (faster; jobs can change it).")
@click.option("--artifacts", metavar="DIR", help="Keep each job's artifacts under DIR/<job>/.")
@click.option("--var", "variables", metavar="K=V", multiple=True, help="Set a variable in every job (repeatable).")
@click.option("--secret-file", metavar="FILE", help="NAME=VALUE lines: secrets for the jobs (never printed).")
@click.option("--skip-gpu", is_flag=True, help="Skip GPU jobs when the daemon has no NVIDIA runtime.")
@click.option("--network", default="bridge", show_default=True, help="Docker network mode of the job containers.")
@click.option("--image", default="python:3.11-slim", show_default=True,
              help="Image for jobs whose manifest names none (runners.images).")
@click.option("--built-image", metavar="IMAGE", help="Image for the jobs that run in the app image (default NAME:<HEAD sha>).")
@click.option("--clean", is_flag=True, help="Remove containers, volumes and networks left by a killed run "
              "(alone: it reads no manifest).")
def run_command(**options: Any) -> int:
    """Run the pipeline's jobs locally in containers (Docker Engine API), up to the first deploy."""
    from .commands import run as command

    return command.run(command.Request(**options))


@cli.command()
@click.option("-C", "--directory", metavar="DIR", help="Single-repository mode: the checkout (default: .).")
@click.option("--fleet", metavar="FILE", help="Report on every project of this fleet file (as sync).")
@click.option("--since", default="30d", show_default=True, help="Window start: 30d, 12h, 2w or an ISO date.")
@click.option("--until", metavar="WHEN", help="Window end (default: now).")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=4, show_default=True, help="Parallel workers.")
@click.option("--shard", metavar="I/N", help="With --fleet: only shard I of N of the fleet (1-based).")
@click.option("--timeout", type=click.FloatRange(min=1), help="Seconds per HTTP request (default: 30).")
@click.option("--cache", metavar="PATH", help="History cache (default: the user cache dir, ci-gen/report.sqlite).")
@click.option("--no-cache", is_flag=True, help="Fetch everything; keep nothing.")
@click.option("--offline", is_flag=True, help="Report from the cache alone; no server is asked.")
@click.option("--model", type=click.Choice(["pooled", "per-env"]), default="pooled", show_default=True,
              help="One deploy-time model over all environments, or one per environment.")
@click.option("--predict", is_flag=True, help="Predicted deploy time of the checkout's current commit.")
@click.option("--json", "json_file", metavar="FILE", help="Also write the JSON report here.")
@click.option("--csv", "csv_dir", metavar="DIR", help="Write environments.csv, deploys.csv and model.csv here.")
@click.option("--openmetrics", metavar="FILE", help="Write the metrics as OpenMetrics/Prometheus text here.")
@click.option("--html", metavar="FILE", help="Write a self-contained HTML report with charts here.")
@server_credentials
@click.option("-o", "--output", "fmt", type=FORMATS, default="text", show_default=True,
              help="Table, or the JSON report on stdout.")
def report(**options: Any) -> int:
    """Deployment metrics, DORA keys and the deploy-time model from GitLab and Jenkins history."""
    from .commands import report as command

    return command.run(command.Request(**options))


@cli.command()
@click.option("--docs", is_flag=True, help="Print the field reference instead: every field's type, default and meaning.")
def schema(**options: Any) -> int:
    """Print the manifest JSON Schema (for editors and other tools), or its field reference."""
    from .commands import schema as command

    return command.run(command.Request(**options))


@cli.group(invoke_without_command=True)
@click.pass_context
def steps(ctx: click.Context) -> int:
    """The shared step scripts the pipelines call (no subcommand: list them)."""
    if ctx.invoked_subcommand is not None:
        return 0
    from .commands import steps as command

    return command.run(command.Request())


@steps.command("list")
@click.option("-o", "--output", "fmt", type=FORMATS, default="text")
def steps_list(**options: Any) -> int:
    """List the steps."""
    from .commands import steps as command

    return command.run(command.Request(**options))


@steps.command("show")
@click.argument("name")
@click.option("-o", "--output", "fmt", type=FORMATS, default="text")
def steps_show(**options: Any) -> int:
    """Show a step's interface: its environment variables, outputs and failures."""
    from .commands import steps as command

    return command.run(command.Request(**options))


def main(argv: list[str] | None = None) -> int:
    """Entry point and the one error boundary: every outcome becomes an exit code."""
    try:
        result = cli.main(args=argv, prog_name="ci-gen", standalone_mode=False)
    except (click.exceptions.Abort, KeyboardInterrupt):
        emit_problems(["interrupted"])
        return 130
    except click.ClickException as exc:
        exc.show()
        return 2 if isinstance(exc, click.UsageError) else 1
    except CiGenError as exc:
        from .redaction import scrub  # messages can quote what a server answered

        emit_problems(f"ci-gen: {line}" if exc.exit_code != 1 else line
                      for line in scrub(str(exc)).splitlines() or [type(exc).__name__])
        return exc.exit_code
    except Exception as exc:  # a bug: one line for the user, the traceback in a log file
        from .redaction import scrub

        log = _log_traceback()
        emit_problems([scrub(f"ci-gen: internal error: {type(exc).__name__}: {exc} (traceback in {log})")])
        return 4
    return result if isinstance(result, int) else 0


def _log_traceback() -> str:
    import os
    import tempfile
    import traceback

    from .redaction import scrub

    directory = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    try:
        os.makedirs(os.path.join(directory, "ci-gen"), exist_ok=True)
        path = os.path.join(directory, "ci-gen", "error.log")
    except OSError:
        path = os.path.join(tempfile.gettempdir(), "ci-gen-error.log")
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(scrub(traceback.format_exc()) + "\n")
    return path


def entry() -> None:
    sys.exit(main())
