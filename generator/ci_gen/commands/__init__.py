"""One module per subcommand, all behind one calling convention.

Each `commands/<verb>.py` exposes a frozen dataclass `Request` (the command's options, as plain
values: what the user typed, not yet resolved) and `run(request) -> int` (the exit code). The CLI
builds the Request from click's values and makes that one call; tests make the same call without
click. A `run` checks its own option combinations (`usage.py`): a flag the command would not honour
in this mode is a usage error, never silently dropped. Heavy modules are imported inside `run`, past
the checks, so the pre-commit path (validate, render --check) stays light.
"""
