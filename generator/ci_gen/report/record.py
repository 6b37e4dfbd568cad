"""The deploy record (`schemas/deploy-record.schema.json`) and the `Deploy` row every source
turns its history into. A record is untrusted input: anything that does not match the schema
is refused with a reason, never half-read."""
from __future__ import annotations

import json
from dataclasses import dataclass, fields
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any

RECORD_DIR = ".ci-gen/reports"
MAX_RECORD_BYTES = 256 * 1024
RESULTS = ("success", "failed", "rolled_back")
# Units of the model's features: a coefficient reads "seconds per MB of code" and so on.
MB, GB = 1e6, 1e9


def record_path(environment: str) -> str:
    """Where the rollout step writes the record of one environment (plan.deploy_record_path)."""
    return f"{RECORD_DIR}/deploy-{environment}.json"


class RecordError(ValueError):
    """A deploy record that is not JSON or does not match the schema."""


@dataclass(frozen=True)
class Deploy:
    """One finished deployment of one project to one environment."""

    server: str  # gitlab | jenkins
    project: str  # GitLab path or Jenkins job full name
    id: str  # unique within (server, project)
    environment: str
    result: str  # success | failed | rolled_back
    started_at: float  # epoch seconds
    finished_at: float
    duration: float  # seconds
    commit: str | None = None
    commit_time: float | None = None
    strategy: str | None = None
    code_size: float | None = None  # MB of tracked source
    image_size: float | None = None  # GB compressed
    model_size: float | None = None  # MB
    env_complexity: float | None = None
    has_record: bool = False

    def to_row(self) -> dict[str, Any]:
        # not dataclasses.asdict: its deep copy costs seconds over a fleet's history
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> "Deploy":
        names = {f.name for f in fields(cls)}
        data = {k: row[k] for k in names if k in row}
        data["has_record"] = bool(data.get("has_record"))
        return cls(**data)


@lru_cache(maxsize=1)
def _validator() -> Any:
    import jsonschema

    from ..data import schema_path

    schema = json.loads(schema_path("deploy-record").read_text(encoding="utf-8"))
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())


def parse_record(raw: bytes) -> dict[str, Any]:
    """The record as a dict, or RecordError naming the first problem."""
    if len(raw) > MAX_RECORD_BYTES:
        raise RecordError(f"larger than {MAX_RECORD_BYTES} bytes")
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise RecordError(f"not JSON: {exc}") from None
    errors = sorted(_validator().iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        first = errors[0]
        where = ".".join(str(p) for p in first.absolute_path) or "(top)"
        raise RecordError(f"{where}: {first.message[:200]}")
    for key in ("started_at", "finished_at", "commit_time"):
        if data.get(key) is not None:
            try:
                epoch(data[key])
            except ValueError:
                raise RecordError(f"{key}: not an ISO 8601 time: {str(data[key])[:40]!r}") from None
    return dict(data)


def deploy_from_record(server: str, project: str, ident: str, record: dict[str, Any]) -> Deploy:
    features = record["features"]

    def scaled(key: str, unit: float) -> float | None:
        value = features.get(key)
        return None if value is None else float(value) / unit

    return Deploy(
        server=server, project=project, id=ident, environment=record["environment"],
        result=record["result"], started_at=epoch(record["started_at"]),
        finished_at=epoch(record["finished_at"]), duration=float(record["duration_seconds"]),
        commit=record.get("commit") or None,
        commit_time=epoch(record["commit_time"]) if record.get("commit_time") else None,
        strategy=record.get("strategy"), code_size=scaled("code_size_bytes", MB),
        image_size=scaled("image_size_bytes", GB), model_size=scaled("model_size_bytes", MB),
        env_complexity=None if features.get("env_complexity") is None else float(features["env_complexity"]),
        has_record=True,
    )


def epoch(text: str) -> float:
    """ISO 8601 (with Z or an offset; naive means UTC) -> epoch seconds."""
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.timestamp()


def iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
