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
from .targets import DEFAULT_TARGETS, TARGETS

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
def validate(directory: str | None, manifest: str | None, fmt: str) -> int:
    """Check ci-gen.yaml: schema and semantic rules, every problem in one run."""
    from .commands import validate as command
    from .workspace import workspace

    return command.run(workspace(directory, manifest, find=True), fmt)


def fleet_pipeline_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Options of `render --fleet`: the platform repo's scheduled, sharded sync pipeline."""
    options = [
        click.option("--fleet", metavar="FILE", help="Write the platform repo's fleet sync pipeline for this fleet file instead."),
        click.option("--shards", type=click.IntRange(min=1), default=1, show_default=True, help="--fleet: parallel sync jobs."),
        click.option("--schedule", "sync_cron", default="0 */4 * * *", show_default=True, help="--fleet: sync cron."),
        click.option("--drift-schedule", "drift_cron", default="30 7 * * 1-5", show_default=True, help="--fleet: drift alarm cron."),
        click.option("--report-schedule", "report_cron", default="0 6 * * *", show_default=True,
                     help="--fleet: deployment report cron (ci-gen report)."),
        click.option("--fleet-jobs", type=click.IntRange(min=1), default=8, show_default=True, help="--fleet: workers per shard."),
        click.option("--no-prune", is_flag=True, help="--fleet: never delete jobs whose project left the fleet."),
        click.option("--image", "fleet_image", default="python:3.11-slim", show_default=True, help="--fleet: job image."),
        click.option("--runner-tag", "runner_tags", multiple=True, help="--fleet: GitLab runner tag (repeatable; default docker)."),
        click.option("--jenkins-label", default="linux", show_default=True, help="--fleet: Jenkins agent label."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def server_credentials(command: Callable[..., Any]) -> Callable[..., Any]:
    """The credential sources sync and report share, besides the environment and the fleet file."""
    for option in reversed((
        click.option("--gitlab-config", metavar="FILE", multiple=True, help="python-gitlab config file (repeatable)."),
        click.option("--gitlab-id", metavar="NAME", help="Section of the python-gitlab config file."),
        click.option("--jenkins-ini", metavar="FILE", help="Jenkins Job Builder ini file with url/user/password."),
        click.option("--jenkins-section", default="jenkins", show_default=True, help="Section of the JJB ini file."),
    )):
        command = option(command)
    return command


@cli.command()
@common
@click.option("--check", is_flag=True, help="Exit 1 if a generated file is missing, stale or hand-edited.")
@click.option("--diff", is_flag=True, help="Print a unified diff of what render would change.")
@click.option("--force", is_flag=True,
              help="Replace a .gitlab-ci.yml or Jenkinsfile that ci-gen did not generate (see `ci-gen import`).")
@click.option("--out", metavar="DIR", help="Write into DIR instead of the repository.")
@click.option("--target", "targets", multiple=True, type=click.Choice(list(TARGETS)),
              help="Render only this target (repeatable).")
@fleet_pipeline_options
def render(directory: str | None, manifest: str | None, fmt: str, check: bool, diff: bool, force: bool,
           out: str | None, targets: tuple[str, ...], fleet: str | None, **fleet_options: Any) -> int:
    """Write the CI files of the manifest's targets and .ci-gen/ from the manifest."""
    if fleet:
        from .paths import check_out_dir

        return _render_fleet(fleet, str(check_out_dir(out)) if out else directory or ".", force, **fleet_options)
    from .commands import render as command
    from .workspace import workspace

    return command.run(workspace(directory, manifest, find=True), fmt, check, diff, out, targets, force)


def _render_fleet(fleet: str, out: str, force: bool, shards: int, sync_cron: str, drift_cron: str, report_cron: str,
                  fleet_jobs: int, no_prune: bool, fleet_image: str, runner_tags: tuple[str, ...], jenkins_label: str) -> int:
    from pathlib import Path

    from .fleet_pipeline import FleetPipelineOptions, run_render_fleet

    options = FleetPipelineOptions(shards=shards, sync_cron=sync_cron, drift_cron=drift_cron,
                                   report_cron=report_cron, jobs=fleet_jobs,
                                   prune=not no_prune, image=fleet_image, runner_tags=runner_tags or ("docker",),
                                   jenkins_label=jenkins_label)
    return run_render_fleet(Path(fleet), Path(out), options, force)


@cli.command()
@common
@click.option("--server", is_flag=True, help="Check with the GitLab CI Lint API and Jenkins' declarative validator.")
@click.option("--gitlab-project", metavar="PATH", help="--server: project whose CI Lint context to use (default: gitlab.project).")
@click.option("--timeout", type=click.FloatRange(min=1), default=30.0, show_default=True, help="--server: seconds per request.")
@click.option("--out", metavar="DIR", help="Lint the files `render --out DIR` wrote there instead of the repository's.")
def lint(directory: str | None, manifest: str | None, fmt: str, server: bool, gitlab_project: str | None,
         timeout: float, out: str | None) -> int:
    """Validate the pipelines: offline (GitLab's CI schema, Groovy) or with --server."""
    if server:
        from pathlib import Path

        from .lint_server import run_lint_server

        if out:
            from .errors import UsageError

            raise UsageError("--out lints offline; --server checks the repository's files")

        return run_lint_server(Path(directory or "."), gitlab_project, timeout, fmt)
    from .commands import lint as command
    from .workspace import workspace

    return command.run(workspace(directory, manifest, find=True), fmt, out)


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
def init(directory: str | None, manifest: str | None, fmt: str, name: str | None, image: str | None,
         model_path: str | None, framework: str | None, strategy: str, targets: tuple[str, ...]) -> int:
    """Write a commented starter ci-gen.yaml.

    In a terminal it asks for what the flags leave out and checks each answer as it is given;
    otherwise --name and --image are required and errors name the flag. It never overwrites an
    existing manifest. Every field of the manifest: `ci-gen schema --docs`.
    """
    from pathlib import Path

    from .commands import init as command
    from .errors import UsageError
    from .workspace import workspace

    ws = workspace(directory, manifest)
    answers = command.InitAnswers(name or "", image or "", model_path, framework or command.guess_framework(model_path),
                                  strategy, targets or DEFAULT_TARGETS)
    if sys.stdin.isatty():
        answers = _ask(command, ws, answers, command.name_from(Path(ws.root).resolve().name), framework is None)
    if not answers.name or not answers.image:
        raise UsageError("--name and --image are required when not running in a terminal")
    return command.run(ws, answers, fmt)


def _ask(command: Any, ws: Any, answers: Any, directory_name: str, ask_framework: bool) -> Any:
    """Prompt for each answer the flags left out; a refused answer is explained and asked again."""
    from dataclasses import replace

    if not answers.name:
        name = click.prompt("Application name", default=directory_name,
                            value_proc=command.answer_check(ws, answers, "name", "--name"))
        answers = replace(answers, name=name)
    if not answers.image:
        image = click.prompt("Image repository (no tag)", default=f"registry.example.com/ml/{answers.name}",
                             value_proc=command.answer_check(ws, answers, "image", "--image"))
        answers = replace(answers, image=image)
    if answers.model_path is None:
        model = click.prompt("Model file (empty for none)", default="", show_default=False,
                             value_proc=command.answer_check(ws, answers, "model_path", "--model"))
        answers = replace(answers, model_path=model or None)
    if ask_framework and answers.model_path:
        framework = click.prompt("Framework", type=click.Choice(["pytorch", "onnx", "tensorflow", "sklearn"]),
                                 default=command.guess_framework(answers.model_path))
        answers = replace(answers, framework=framework)
    return answers


@cli.command("import")
@common
@click.option("--force", is_flag=True, help="Replace an existing manifest.")
@click.option("--stdout", "to_stdout", is_flag=True, help="Print the draft instead of writing it.")
@click.option("--gitlab", "gitlab_file", metavar="FILE", help="Read this GitLab CI file (default: .gitlab-ci.yml if present).")
@click.option("--jenkins", "jenkins_file", metavar="FILE", help="Read this Jenkinsfile (default: Jenkinsfile if present).")
def import_(directory: str | None, manifest: str | None, fmt: str, force: bool, to_stdout: bool,
            gitlab_file: str | None, jenkins_file: str | None) -> int:
    """Draft ci-gen.yaml from a hand-written .gitlab-ci.yml and/or declarative Jenkinsfile."""
    from .commands import import_ as command
    from .workspace import workspace

    options = command.ImportOptions(force, to_stdout, gitlab_file, jenkins_file)
    return command.run(workspace(directory, manifest), options, fmt)


@cli.command()
@click.option("-C", "--directory", metavar="DIR", help="Single-repository mode: the checkout to sync (default: .).")
@click.option("--fleet", metavar="FILE", help="Sync every project of this fleet file instead of one checkout.")
@click.option("--dry-run", is_flag=True, help="Plan and print; write nothing.")
@click.option("--check", is_flag=True, help="Like --dry-run; exit 1 when anything would change (drift alarm).")
@click.option("--diff", is_flag=True, help="Print unified diffs of planned changes (secret values redacted).")
@click.option("--verify", is_flag=True, help="Check each live Jenkins config.xml too (reports UI edits).")
@click.option("--prune", is_flag=True, help="With --fleet: delete this fleet's Jenkins jobs whose project left the fleet.")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=4, show_default=True, help="Parallel workers.")
@click.option("--shard", metavar="I/N", help="Sync only shard I of N (1-based), for parallel CI jobs.")
@click.option("--timeout", type=click.FloatRange(min=1), default=30.0, show_default=True, help="Seconds per HTTP request.")
@click.option("--mode", "gitlab_mode", type=click.Choice(["merge-request", "commit"]),
              help="GitLab: open/update a merge request, or commit to the branch (default: the fleet's, else merge-request).")
@click.option("--jenkins-definition", type=click.Choice(["scm", "inline"]),
              help="Jenkins jobs read the Jenkinsfile from git (scm) or embed it (inline).")
@click.option("--only", type=click.Choice(["jenkins", "gitlab"]), help="Write to one kind of server only.")
@click.option("--report", metavar="FILE", help="Write a JSON report here.")
@click.option("--junit", metavar="FILE", help="Write a JUnit XML report here (one test case per project).")
@server_credentials
@click.option("--progress/--no-progress", default=None, help="Progress bar (default: when stderr is a terminal).")
@click.option("-o", "--output", "fmt", type=FORMATS, default="text", show_default=True,
              help="Summary table, or the JSON report on stdout.")
def sync(directory: str | None, fleet: str | None, shard: str | None, report: str | None, junit: str | None,
         jenkins_ini: str | None, fmt: str, **options: Any) -> int:
    """Bring Jenkins jobs and GitLab projects in line with the manifests: plan, then apply."""
    from pathlib import Path

    from .sync.command import run_sync
    from .sync.options import SyncOptions, parse_shard

    return run_sync(SyncOptions(
        fleet=Path(fleet) if fleet else None, repo=Path(directory or "."),
        shard=parse_shard(shard) if shard else None, report=Path(report) if report else None,
        junit=Path(junit) if junit else None, jenkins_ini=Path(jenkins_ini) if jenkins_ini else None,
        output=fmt, **options))


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
@click.option("--clean", is_flag=True, help="Remove containers, volumes and networks left by a killed run.")
def run_command(directory: str | None, manifest: str | None, fmt: str, jobs: tuple[str, ...], **options: Any) -> int:
    """Run the pipeline's jobs locally in containers (Docker Engine API), up to the first deploy."""
    from .commands import run as command
    from .workspace import workspace

    # --clean reads no manifest: it removes what a killed run left, wherever it is started
    ws = workspace(directory, manifest, find=not options["clean"])
    return command.run(ws, command.RunRequest(jobs=jobs, fmt=fmt, **options))


@cli.command()
@click.option("-C", "--directory", metavar="DIR", help="Single-repository mode: the checkout (default: .).")
@click.option("--fleet", metavar="FILE", help="Report on every project of this fleet file (as sync).")
@click.option("--since", default="30d", show_default=True, help="Window start: 30d, 12h, 2w or an ISO date.")
@click.option("--until", metavar="WHEN", help="Window end (default: now).")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=4, show_default=True, help="Parallel workers.")
@click.option("--shard", metavar="I/N", help="Only shard I of N of the fleet (1-based).")
@click.option("--timeout", type=click.FloatRange(min=1), default=30.0, show_default=True, help="Seconds per HTTP request.")
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

    return command.run(**options)


@cli.command()
@click.option("--docs", is_flag=True, help="Print the field reference instead: every field's type, default and meaning.")
def schema(docs: bool) -> int:
    """Print the manifest JSON Schema (for editors and other tools), or its field reference."""
    from .commands import info

    return info.schema(docs)


@cli.group(invoke_without_command=True)
@click.pass_context
def steps(ctx: click.Context) -> int:
    """The shared step scripts the pipelines call (no subcommand: list them)."""
    if ctx.invoked_subcommand is not None:
        return 0
    from .commands import info

    return info.steps_list("text")


@steps.command("list")
@click.option("-o", "--output", "fmt", type=FORMATS, default="text")
def steps_list(fmt: str) -> int:
    """List the steps."""
    from .commands import info

    return info.steps_list(fmt)


@steps.command("show")
@click.argument("name")
@click.option("-o", "--output", "fmt", type=FORMATS, default="text")
def steps_show(name: str, fmt: str) -> int:
    """Show a step's interface: its environment variables, outputs and failures."""
    from .commands import info

    return info.steps_show(name, fmt)


def main(argv: list[str] | None = None) -> int:
    """Entry point and the one error boundary: every outcome becomes an exit code."""
    try:
        result = cli.main(args=argv, prog_name="ci-gen", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("interrupted", err=True)
        return 130
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        return 130
    except click.ClickException as exc:
        exc.show()
        return 2 if isinstance(exc, click.UsageError) else 1
    except CiGenError as exc:
        from .redaction import scrub  # messages can quote what a server answered

        for line in scrub(str(exc)).splitlines() or [type(exc).__name__]:
            click.echo(f"ci-gen: {line}" if exc.exit_code != 1 else line, err=True)
        return exc.exit_code
    except Exception as exc:  # a bug: one line for the user, the traceback in a log file
        from .redaction import scrub

        log = _log_traceback()
        click.echo(scrub(f"ci-gen: internal error: {type(exc).__name__}: {exc} (traceback in {log})"), err=True)
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
