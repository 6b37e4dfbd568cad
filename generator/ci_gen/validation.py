"""Validating a parsed manifest: the JSON Schema, then the semantic rules, every problem at once.

Kept apart from the typed model (manifest.py) so `ci-gen validate` needs neither the model's
dataclasses nor the pipeline plan: it is on the pre-commit path.
"""
from __future__ import annotations

from pathlib import Path

from .errors import ManifestError, Problem
from .rules import rule_problems
from .schema import schema_problems
from .yamlio import Document, parse


def validate_document(doc: Document, repo_root: Path | None) -> None:
    """Raise ManifestError with every schema and rule problem of `doc`."""
    if not isinstance(doc.data, dict):
        raise ManifestError([Problem(doc.file, 1, 1, "", "expected a YAML mapping at the top level")])
    problems = schema_problems(doc)
    try:
        problems += rule_problems(doc, repo_root)
    except (AttributeError, TypeError, KeyError):
        if not problems:
            raise  # a rule broke on schema-valid data: that is a bug, not bad input
    if problems:
        raise ManifestError(sorted(set(problems)))


def validate_text(text: str, repo_root: Path, display: str) -> Document:
    """Parse and validate manifest text; the Document when valid."""
    doc = parse(text, display)
    validate_document(doc, repo_root)
    return doc
