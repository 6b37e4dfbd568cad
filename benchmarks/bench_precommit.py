"""Benchmark the pre-commit path: `ci-gen validate` and `ci-gen render --check` on a full manifest.

Every command runs as a fresh process, the way pre-commit runs it. Runs are interleaved (one of
each per round, the order rotating every round) so that a burst of load on a shared machine
hits every command alike; the report gives medians and the ratios the issue sets as targets:

    validate and render --check   within 8x of `python -c pass`
    check-jsonschema / ci-gen     at least 4x

Each ci-gen command runs twice over: warm, with the record ci-gen keeps in the user's cache
directory after it verified these inputs itself (the pre-commit flow: render, then commit), and
cold, with no usable cache directory (a fresh CI runner, or a manifest just edited), where
`validate` checks in full and `render --check` renders and compares in full. The committed lock
never stands in for the record: a merge request could forge it.

It also checks, with `python -X importtime`, that no command imports a heavy library
(python-gitlab, python-jenkins, docker, rich, jinja2), except Jinja2 in the cold `render --check`,
which renders. That check sets the exit status (1 when a
heavy module is imported); the timing targets only do with --strict, since timings on a loaded
machine are evidence, not a verdict.

    python benchmarks/bench_precommit.py [--runs 15] [--example examples/fraud-detector] [--strict]
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
HEAVY = ("gitlab", "jenkins", "docker", "rich", "jinja2")
VALIDATE_LIMIT = 8.0  # x `python -c pass`
CHECK_JSONSCHEMA_FACTOR = 4.0  # check-jsonschema must take at least this many times longer


def script(name: str) -> str:
    """The console script installed beside this interpreter; a pyenv/asdf shim would add a shell."""
    candidate = Path(sysconfig.get_path("scripts")) / name
    if candidate.is_file():
        return str(candidate)
    found = shutil.which(name)
    if found is None:
        sys.exit(f"{name} not found: pip install -e '.[test]'")
    return found


COLD = " (cold)"  # a command name ending so runs with no usable cache directory


def commands(schema: Path) -> dict[str, list[str]]:
    py = sys.executable
    ci_gen = script("ci-gen")
    return {
        "python -c pass": [py, "-c", "pass"],
        "import click, ruamel.yaml": [py, "-c", "import click, ruamel.yaml"],
        "ci-gen validate": [py, ci_gen, "validate"],
        "ci-gen validate (cold)": [py, ci_gen, "validate"],
        "ci-gen render --check": [py, ci_gen, "render", "--check"],
        "ci-gen render --check (cold)": [py, ci_gen, "render", "--check"],
        "check-jsonschema": [script("check-jsonschema"), "--schemafile", str(schema), "ci-gen.yaml"],
    }


def prepare(example: Path, workdir: Path, env: dict[str, str]) -> Path:
    """A rendered copy of the example, so `render --check` measures the up-to-date case; the
    render leaves its verified record in the benchmark's own cache directory (warm)."""
    repo = workdir / example.name
    shutil.copytree(example, repo)
    render(repo, env)
    return repo


def render(repo: Path, env: dict[str, str]) -> None:
    proc = subprocess.run([sys.executable, script("ci-gen"), "render"], cwd=repo, capture_output=True, text=True,
                          env=env)
    if proc.returncode != 0:
        sys.exit(f"ci-gen render failed in {repo}:\n{proc.stdout}{proc.stderr}")


def user_environment(workdir: Path) -> dict[str, str]:
    """The environment of a normal user: bytecode cached (a private cache, not in the checkout).

    With PYTHONDONTWRITEBYTECODE set, as in some containers, every run would compile ci-gen's
    own modules from source and measure the compiler instead of ci-gen.
    """
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(workdir / "pycache")
    env["XDG_CACHE_HOME"] = str(workdir / "cache")  # warm: filled by prepare()'s render
    return env


def cold_environment(env: dict[str, str], workdir: Path) -> dict[str, str]:
    """The same, but the cache directory cannot exist (its parent is a file): nothing is found and
    nothing is remembered, so every run is the first."""
    blocker = workdir / "no-cache"
    blocker.write_text("a file, so no cache directory can be created under it\n")
    return {**env, "XDG_CACHE_HOME": str(blocker / "cache")}


class Timer:
    """Runs commands and times them; counts re-renders forced by a changing checkout."""

    def __init__(self, cwd: Path, env: dict[str, str], cold_env: dict[str, str]) -> None:
        self.cwd = cwd
        self.env = env
        self.cold_env = cold_env
        self.rerenders = 0

    def once(self, argv: list[str], cold: bool = False) -> float:
        for _ in range(3):
            start = time.perf_counter()
            proc = subprocess.run(argv, cwd=self.cwd, env=self.cold_env if cold else self.env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            elapsed = time.perf_counter() - start
            if proc.returncode == 0:
                return elapsed
            if proc.returncode == 1 and "render" in argv:
                # With an editable install, an edit to the templates or shared steps in the
                # checkout makes the copy stale mid-run: render again and time a fresh sample.
                self.rerenders += 1
                render(self.cwd, self.env)
                continue
            break
        # A failing command would be timed on its error path: refuse to report that.
        sys.exit(f"{' '.join(argv)} exited {proc.returncode}:\n{proc.stderr.decode(errors='replace')}")


def measure(cmds: dict[str, list[str]], timer: Timer, runs: int) -> dict[str, list[float]]:
    names = list(cmds)
    for name in names:  # warm the page cache and write the bytecode cache; not counted
        timer.once(cmds[name], name.endswith(COLD))
    times: dict[str, list[float]] = {name: [] for name in names}
    for round_ in range(runs):
        shift = round_ % len(names)
        for name in names[shift:] + names[:shift]:
            times[name].append(timer.once(cmds[name], name.endswith(COLD)))
    return times


def heavy_imports(argv: list[str], cwd: Path, env: dict[str, str], allowed: tuple[str, ...] = ()) -> list[str]:
    """Top-level packages from HEAVY (less `allowed`) the command imports, per `python -X importtime`."""
    proc = subprocess.run([sys.executable, "-X", "importtime", *argv[1:]], cwd=cwd, capture_output=True, text=True,
                          env=env)
    if proc.returncode != 0:
        sys.exit(f"{' '.join(argv)} exited {proc.returncode}:\n{proc.stderr[-2000:]}")
    found = set()
    for line in proc.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            module = line.rsplit("|", 1)[1].strip()
            if module.split(".")[0] in HEAVY and module.split(".")[0] not in allowed:
                found.add(module)
    return sorted(found)


def report(times: dict[str, list[float]], runs: int, load: tuple[float, float]) -> list[str]:
    med = {name: statistics.median(values) for name, values in times.items()}
    print(f"\n{runs} interleaved runs each; load average {load[0]:.2f} before, {load[1]:.2f} after; "
          f"{os.cpu_count()} CPUs; {sys.version.split()[0]}\n")
    print(f"| {'command':<28} | median ms | min ms | x pass |")
    print(f"| {'-' * 28} | --------: | -----: | -----: |")
    base = med["python -c pass"]
    for name, values in times.items():
        print(f"| {name:<28} | {med[name] * 1000:9.1f} | {min(values) * 1000:6.1f} | {med[name] / base:6.2f} |")
    low = {name: min(values) for name, values in times.items()}
    checks = [
        ("validate / pass", "ci-gen validate", "python -c pass", VALIDATE_LIMIT, False),
        ("render --check / pass", "ci-gen render --check", "python -c pass", VALIDATE_LIMIT, False),
        ("check-jsonschema / validate", "check-jsonschema", "ci-gen validate", CHECK_JSONSCHEMA_FACTOR, True),
        ("check-jsonschema / render --check", "check-jsonschema", "ci-gen render --check", CHECK_JSONSCHEMA_FACTOR, True),
        ("validate (cold) / pass", "ci-gen validate (cold)", "python -c pass", VALIDATE_LIMIT, False),
        ("render --check (cold) / pass", "ci-gen render --check (cold)", "python -c pass", VALIDATE_LIMIT, False),
        ("check-jsonschema / validate (cold)", "check-jsonschema", "ci-gen validate (cold)", None, True),
        ("check-jsonschema / render --check (cold)", "check-jsonschema", "ci-gen render --check (cold)", None, True),
        ("validate: cold / warm", "ci-gen validate (cold)", "ci-gen validate", None, True),
        ("render --check: cold / warm", "ci-gen render --check (cold)", "ci-gen render --check", None, True),
    ]
    # Targets are judged on medians; the ratio of minimums is shown beside them because on a
    # shared machine load inflates the heavier command more, flattering the ratio.
    print(f"\n| {'ratio':<40} | medians | minimums | target | met |")
    print(f"| {'-' * 40} | ------: | -------: | ------ | --- |")
    missed = []
    for label, num, den, limit, at_least in checks:
        value = med[num] / med[den]
        if limit is None:  # shown for the record: the pre-commit flow renders before committing
            print(f"| {label:<40} | {value:7.2f} | {low[num] / low[den]:8.2f} | {'-':<6} | {'-':<3} |")
            continue
        met = value >= limit if at_least else value <= limit
        target = f"{'>=' if at_least else '<='} {limit:g}"
        print(f"| {label:<40} | {value:7.2f} | {low[num] / low[den]:8.2f} | {target:<6} | {'yes' if met else 'NO':<3} |")
        if not met:
            missed.append(label)
    return missed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15, help="interleaved runs per command (default 15)")
    parser.add_argument("--example", type=Path, default=REPO / "examples" / "fraud-detector",
                        help="example repository whose ci-gen.yaml is measured")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a timing target is missed too")
    args = parser.parse_args()

    from ci_gen.data import schema_path

    with tempfile.TemporaryDirectory(prefix="ci-gen-bench-") as tmp:
        env = user_environment(Path(tmp))
        cold_env = cold_environment(env, Path(tmp))
        repo = prepare(args.example.resolve(), Path(tmp), env)
        cmds = commands(schema_path())
        offenders = {name: heavy_imports(cmds[name], repo, env) for name in ("ci-gen validate", "ci-gen render --check")}
        offenders["ci-gen validate (cold)"] = heavy_imports(cmds["ci-gen validate (cold)"], repo, cold_env)
        # Cold, render --check renders in full: Jinja2 is expected there, a server client is not.
        offenders["ci-gen render --check (cold)"] = heavy_imports(cmds["ci-gen render --check (cold)"], repo,
                                                                  cold_env, ("jinja2",))
        load_before = os.getloadavg()[0]
        timer = Timer(repo, env, cold_env)
        times = measure(cmds, timer, args.runs)
        missed = report(times, args.runs, (load_before, os.getloadavg()[0]))
    print()
    if timer.rerenders:
        print(f"note: re-rendered {timer.rerenders} time(s): ci-gen's data files changed during the run")
    for name, modules in offenders.items():
        print(f"{name}: heavy modules imported: {', '.join(modules)}" if modules
              else f"{name}: no heavy module imported "
                   f"({', '.join(h for h in HEAVY if not (name.endswith('--check' + COLD) and h == 'jinja2'))})")
    if any(offenders.values()):
        return 1
    return 1 if args.strict and missed else 0


if __name__ == "__main__":
    sys.exit(main())
