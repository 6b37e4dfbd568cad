"""Semantic rules for signature checks and for the shapes and calibration that conversion needs."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from .errors import Problem
from .manifest_axes import DEFAULT_RANGES, axis_name
from .paths import path_escape_reason
from .schema import dotted
from .yamlio import Document

# Key references cosign resolves itself; anything else is a file in the repository.
KEY_SCHEMES = ("awskms://", "gcpkms://", "azurekms://", "hashivault://", "k8s://", "env://")


def _at(doc: Document, path: tuple[Any, ...], message: str) -> Problem:
    line, col = doc.position(path)
    return Problem(doc.file, line, col, dotted(path), message)


def _repo_file(doc: Document, path: tuple[Any, ...], value: str, repo_root: Path | None) -> list[Problem]:
    reason = path_escape_reason(value, repo_root)
    if reason:
        return [_at(doc, path, reason)]
    if repo_root is not None and not (repo_root / value).is_file():
        return [_at(doc, path, f"'{value}' is not a file in the repository")]
    return []


def check_signature_check(doc: Document, data: dict[str, Any], repo_root: Path | None) -> list[Problem]:
    scan = data.get("scan") or {}
    verify = scan.get("verify")
    if verify is None:
        if scan.get("sign") and data.get("deploy"):
            return [_at(doc, ("scan", "sign"), "every deploy verifies the signature: say against what in scan.verify, "
                                               "a public key ({key: cosign.pub}) or the keyless signer "
                                               "({identity: ..., issuer: https://...})")]
        return []
    where = ("scan", "verify")
    if not scan.get("sign"):
        return [_at(doc, where, "applies only with scan.sign: true (set sign, or remove this)")]
    keyless = [k for k in ("identity", "identity_regexp") if k in verify]
    if "key" in verify and (keyless or "issuer" in verify):
        return [_at(doc, where, "give a public key or a keyless signer (identity, issuer), not both")]
    if "key" in verify:
        key = str(verify["key"])
        return [] if key.startswith(KEY_SCHEMES) else _repo_file(doc, where + ("key",), key, repo_root)
    if not keyless:
        return [_at(doc, where, "needs key, or identity (or identity_regexp) and issuer")]
    problems = []
    if len(keyless) == 2:
        problems.append(_at(doc, where + ("identity_regexp",), "give identity or identity_regexp, not both"))
    if "issuer" not in verify:
        problems.append(_at(doc, where, "keyless verification needs issuer (the OIDC issuer of the identity)"))
    if "identity_regexp" in verify:
        try:
            re.compile(str(verify["identity_regexp"]))
        except re.error as exc:
            problems.append(_at(doc, where + ("identity_regexp",), f"not a regular expression: {exc}"))
    return problems


def check_dynamic_shapes(doc: Document, data: dict[str, Any], _: Path | None) -> list[Problem]:
    model = data.get("model") or {}
    ranges = model.get("dynamic") or {}
    problems = []
    used = set()
    for i, item in enumerate(model.get("inputs") or []):
        for j, dim in enumerate(item.get("shape") or []):
            if dim != -1:
                continue
            axis = axis_name(j)
            used.add(axis)
            if axis not in ranges and axis not in DEFAULT_RANGES:
                problems.append(_at(doc, ("model", "inputs", i, "shape", j),
                                    f"dimension {j} of input '{item.get('name')}' is dynamic (-1): give its range "
                                    f"as model.dynamic.{axis}: [min, opt, max]"))
    for axis, values in ranges.items():
        where = ("model", "dynamic", axis)
        if axis not in used:
            problems.append(_at(doc, where, f"no input is dynamic (-1) in {axis} "
                                            "(mark the dimension -1 in model.inputs, or remove this)"))
        elif not values[0] <= values[1] <= values[2]:
            problems.append(_at(doc, where, f"needs min <= opt <= max, got {list(values)}"))
    return problems


def check_calibration(doc: Document, data: dict[str, Any], repo_root: Path | None) -> list[Problem]:
    problems = []
    for i, step in enumerate((data.get("model") or {}).get("convert") or []):
        where = ("model", "convert", i)
        int8 = step.get("format") == "tensorrt" and step.get("precision") == "int8"
        value = step.get("calibration")
        if value is None:
            if int8:
                problems.append(_at(doc, where + ("precision",),
                                    "int8 needs calibration data: calibration: PATH (a TensorRT calibration cache "
                                    "in the repository), or calibration: none to accept the accuracy loss"))
        elif not int8:
            problems.append(_at(doc, where + ("calibration",), "applies only to a tensorrt step with precision: int8"))
        elif value != "none":
            problems += _repo_file(doc, where + ("calibration",), str(value), repo_root)
    return problems
