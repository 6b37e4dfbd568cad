"""Cases for the per-target tests: every example and golden manifest, rendered for every target
its manifest would be valid for (a Jenkins-only `H` cron rules the others out, for instance)."""
from __future__ import annotations

import re
from pathlib import Path

from ci_gen import api
from ci_gen.errors import ManifestError
from ci_gen.targets import TARGETS

REPO = Path(__file__).resolve().parents[2]
CASES = sorted(list((REPO / "examples").glob("*/ci-gen.yaml")) + list((REPO / "tests" / "golden").glob("*/ci-gen.yaml")))
CASE_IDS = [p.parent.name for p in CASES]


def with_targets(text: str, targets: list[str]) -> str:
    line = f"targets: [{', '.join(targets)}]"
    if re.search(r"^targets:.*$", text, flags=re.M):
        return re.sub(r"^targets:.*$", line, text, count=1, flags=re.M)
    return re.sub(r"^(name:.*)$", rf"\1\n{line}", text, count=1, flags=re.M)


def render_all_targets(case: Path) -> dict[str, str]:
    """Target output path -> text, for each target the case's manifest validates with."""
    text = case.read_text(encoding="utf-8")
    out = {}
    for name, target in TARGETS.items():
        try:
            files = api.render_files(with_targets(text, [name]), repo_root=case.parent)
        except ManifestError:
            continue  # a rule rules this target out for this manifest: validate would say so
        out[target.output] = files[target.output].decode("utf-8")
    return out
