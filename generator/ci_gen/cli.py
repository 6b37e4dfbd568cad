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

    return command.run(workspace(directory, manifest), fmt)


@cli.command()
@common
@click.option("--check", is_flag=True, help="Exit 1 if a generated file is missing, stale or hand-edited.")
@click.option("--diff", is_flag=True, help="Print a unified diff of what render would change.")
@click.option("--out", metavar="DIR", help="Write into DIR instead of the repository.")
@click.option("--target", "targets", multiple=True, type=click.Choice(["gitlab", "jenkins"]),
              help="Render only this target (repeatable).")
def render(directory: str | None, manifest: str | None, fmt: str, check: bool, diff: bool,
           out: str | None, targets: tuple[str, ...]) -> int:
    """Write .gitlab-ci.yml, Jenkinsfile and .ci-gen/ from the manifest."""
    from .commands import render as command
    from .workspace import workspace

    return command.run(workspace(directory, manifest), fmt, check, diff, out, targets)


@cli.command()
@common
def lint(directory: str | None, manifest: str | None, fmt: str) -> int:
    """Validate the pipelines offline: GitLab's CI schema, Groovy for the Jenkinsfile."""
    from .commands import lint as command
    from .workspace import workspace

    return command.run(workspace(directory, manifest), fmt)


@cli.command()
@common
@click.option("--name", help="Application name (lowercase letters, digits, '-').")
@click.option("--image", help="Image repository without a tag, e.g. registry.example.com/ml/app.")
@click.option("--model", "model_path", help="Model file relative to the repository root (omit for none).")
@click.option("--framework", type=click.Choice(["pytorch", "onnx", "tensorflow", "sklearn"]), default="pytorch")
@click.option("--strategy", type=click.Choice(["rolling", "blue-green", "canary"]), default="rolling")
@click.option("--target", "targets", multiple=True, type=click.Choice(["gitlab", "jenkins"]))
def init(directory: str | None, manifest: str | None, fmt: str, name: str | None, image: str | None,
         model_path: str | None, framework: str, strategy: str, targets: tuple[str, ...]) -> int:
    """Write a commented starter ci-gen.yaml (asks in a terminal; flags otherwise)."""
    from pathlib import Path

    from .commands import init as command
    from .errors import UsageError
    from .workspace import workspace

    ws = workspace(directory, manifest)
    interactive = sys.stdin.isatty()
    default_name = Path(ws.root).resolve().name.lower()
    if interactive:
        name = name or click.prompt("Application name", default=default_name)
        image = image or click.prompt("Image repository (no tag)", default=f"registry.example.com/ml/{name}")
        if model_path is None:
            model_path = click.prompt("Model file (empty for none)", default="", show_default=False) or None
    if not name or not image:
        raise UsageError("--name and --image are required when not running in a terminal")
    answers = command.InitAnswers(name, image, model_path, framework, strategy, targets or ("gitlab", "jenkins"))
    return command.run(ws, answers, fmt)


@cli.command()
def schema() -> int:
    """Print the manifest JSON Schema (for editors and other tools)."""
    from .commands import info

    return info.schema()


@cli.group()
def steps() -> None:
    """The shared step scripts the pipelines call."""


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
        for line in str(exc).splitlines() or [type(exc).__name__]:
            click.echo(f"ci-gen: {line}" if exc.exit_code != 1 else line, err=True)
        return exc.exit_code
    except Exception as exc:  # a bug: one line for the user, the traceback in a log file
        log = _log_traceback()
        click.echo(f"ci-gen: internal error: {type(exc).__name__}: {exc} (traceback in {log})", err=True)
        return 4
    return result if isinstance(result, int) else 0


def _log_traceback() -> str:
    import os
    import tempfile
    import traceback

    directory = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    try:
        os.makedirs(os.path.join(directory, "ci-gen"), exist_ok=True)
        path = os.path.join(directory, "ci-gen", "error.log")
    except OSError:
        path = os.path.join(tempfile.gettempdir(), "ci-gen-error.log")
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(traceback.format_exc() + "\n")
    return path


def entry() -> None:
    sys.exit(main())
