"""Scan report handling for the scan step: the severity gate and GitLab report conversion.

Standard library only. Command line (called by `scan`):
  _reports.py trivy-gitlab TRIVY_JSON OUT --image REF
  _reports.py trivy-gate TRIVY_JSON --severity LEVEL [--ignore-unfixed]
  _reports.py secrets-gitlab DETECT_SECRETS_JSON OUT --sha SHA [--gitleaks FILE] [--baseline FILE]
Exit 1 when the gate fails or secrets were found; the reason is one line on stderr.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import uuid
from pathlib import Path
from typing import Any, Iterator

SEVERITIES = ("UNKNOWN", "LOW", "MEDIUM", "HIGH", "CRITICAL")
GITLAB_SCHEMA_VERSION = "15.0.7"
# GitLab's report schema spells severities in title case and calls UNKNOWN "Unknown".
GITLAB_SEVERITY = {"UNKNOWN": "Unknown", "LOW": "Low", "MEDIUM": "Medium", "HIGH": "High", "CRITICAL": "Critical"}
_NS = uuid.UUID("6f1d2a52-7c4b-4e55-9f0e-0c1a8e3b2d10")  # stable ids: same finding, same id


def at_or_above(level: str) -> tuple[str, ...]:
    level = level.upper()
    if level not in SEVERITIES:
        raise ValueError(f"severity must be one of {', '.join(SEVERITIES)}, got {level!r}")
    return SEVERITIES[SEVERITIES.index(level):]


def trivy_vulnerabilities(doc: dict[str, Any]) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """(result, vulnerability) pairs from a trivy JSON report (schema version 2)."""
    for result in doc.get("Results") or []:
        for vuln in result.get("Vulnerabilities") or []:
            yield result, vuln


def gate(doc: dict[str, Any], severity: str, ignore_unfixed: bool) -> list[dict[str, Any]]:
    """The vulnerabilities that fail the build: at or above `severity`, fixed ones only if asked."""
    levels = at_or_above(severity)
    failing = []
    for _, vuln in trivy_vulnerabilities(doc):
        if vuln.get("Severity", "UNKNOWN").upper() not in levels:
            continue
        if ignore_unfixed and not vuln.get("FixedVersion"):
            continue
        failing.append(vuln)
    return failing


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")


def _scan_block(kind: str, scanner: dict[str, str], start: str, end: str) -> dict[str, Any]:
    analyzer = {"id": "ci-gen", "name": "ci-gen scan", "version": "1",
                "vendor": {"name": "ci-gen"}}
    return {"analyzer": analyzer,
            "scanner": {"id": scanner["id"], "name": scanner["name"], "version": scanner["version"],
                        "vendor": {"name": scanner["vendor"]}},
            "type": kind, "start_time": start, "end_time": end, "status": "success"}


def _identifier(vuln_id: str, url: str | None) -> dict[str, str]:
    kind = "cve" if vuln_id.startswith("CVE-") else "ghsa" if vuln_id.startswith("GHSA-") else "trivy"
    ident = {"type": kind, "name": vuln_id, "value": vuln_id}
    if url:
        ident["url"] = url
    return ident


def trivy_to_gitlab(doc: dict[str, Any], image: str, start: str | None = None) -> dict[str, Any]:
    """A GitLab container-scanning report (schema 15.x) from a trivy JSON report."""
    os_meta = (doc.get("Metadata") or {}).get("OS") or {}
    operating_system = " ".join(x for x in (os_meta.get("Family"), os_meta.get("Name")) if x) or "unknown"
    vulnerabilities, seen = [], set()
    for _, vuln in trivy_vulnerabilities(doc):
        key = (vuln["VulnerabilityID"], vuln.get("PkgName", ""), vuln.get("InstalledVersion", ""))
        if key in seen:  # one package can appear in several layers' results
            continue
        seen.add(key)
        fixed = vuln.get("FixedVersion")
        entry = {
            "id": str(uuid.uuid5(_NS, "|".join(key))),
            "name": vuln.get("Title") or vuln["VulnerabilityID"],
            "description": (vuln.get("Description") or "")[:1048576],
            "severity": GITLAB_SEVERITY.get(vuln.get("Severity", "UNKNOWN").upper(), "Unknown"),
            "solution": f"Upgrade {key[1]} to {fixed}" if fixed else "No fix available yet",
            "identifiers": [_identifier(vuln["VulnerabilityID"], vuln.get("PrimaryURL"))],
            "links": [{"url": u} for u in (vuln.get("References") or [])[:10]],
            "location": {"dependency": {"package": {"name": key[1]}, "version": key[2]},
                         "operating_system": operating_system, "image": image},
        }
        vulnerabilities.append(entry)
    scanner = {"id": "trivy", "name": "Trivy", "vendor": "Aqua Security",
               "version": str(doc.get("Trivy", {}).get("Version", "unknown"))}
    return {"version": GITLAB_SCHEMA_VERSION, "vulnerabilities": vulnerabilities, "remediations": [],
            "scan": _scan_block("container_scanning", scanner, start or _now(), _now())}


def _baseline_keys(baseline: dict[str, Any] | None) -> set[tuple[str, str]]:
    """Findings a team has audited into .secrets.baseline are not reported again."""
    if not baseline:
        return set()
    return {(f["filename"], f["hashed_secret"])
            for items in (baseline.get("results") or {}).values() for f in items}


def secret_findings(detect: dict[str, Any], gitleaks: list[dict[str, Any]] | None,
                    baseline: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Findings as {tool, rule, file, line, fingerprint}; secret values are never kept."""
    known = _baseline_keys(baseline)
    found = [{"tool": "detect-secrets", "rule": f["type"], "file": f["filename"],
              "line": int(f.get("line_number", 1)), "fingerprint": f["hashed_secret"]}
             for items in (detect.get("results") or {}).values() for f in items
             if (f["filename"], f["hashed_secret"]) not in known]
    for leak in gitleaks or []:
        found.append({"tool": "gitleaks", "rule": leak.get("RuleID", "gitleaks"),
                      "file": leak.get("File", ""), "line": int(leak.get("StartLine", 1)),
                      "fingerprint": leak.get("Fingerprint") or f"{leak.get('File')}:{leak.get('StartLine')}"})
    return found


def secrets_to_gitlab(findings: list[dict[str, Any]], sha: str, start: str | None = None) -> dict[str, Any]:
    vulnerabilities = []
    for f in findings:
        vulnerabilities.append({
            "id": str(uuid.uuid5(_NS, f"{f['tool']}|{f['file']}|{f['line']}|{f['fingerprint']}")),
            "name": f"{f['rule']} in {f['file']}",
            "description": f"{f['tool']} found a possible secret ({f['rule']}) at {f['file']}:{f['line']}",
            "severity": "Critical",
            "identifiers": [{"type": f"{f['tool']}_rule_id", "name": f["rule"], "value": f["rule"]}],
            "location": {"file": f["file"], "start_line": f["line"], "end_line": f["line"],
                         "commit": {"sha": sha}},
        })
    scanner = {"id": "detect_secrets", "name": "detect-secrets", "vendor": "Yelp", "version": "1"}
    return {"version": GITLAB_SCHEMA_VERSION, "vulnerabilities": vulnerabilities, "remediations": [],
            "scan": _scan_block("secret_detection", scanner, start or _now(), _now())}


def _load(path: str | None) -> Any:
    if not path or not Path(path).exists():
        return None
    return json.loads(Path(path).read_text(encoding="utf-8"))


def _write(path: str, doc: dict[str, Any]) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def _cmd_trivy_gate(args: argparse.Namespace) -> int:
    failing = gate(_load(args.report) or {}, args.severity, args.ignore_unfixed)
    if not failing:
        print(f"no vulnerabilities at or above {args.severity.upper()}")
        return 0
    for vuln in failing:
        print(f"  {vuln.get('Severity')} {vuln['VulnerabilityID']} {vuln.get('PkgName')} "
              f"{vuln.get('InstalledVersion')} -> {vuln.get('FixedVersion') or 'no fix'}")
    ids = sorted({v["VulnerabilityID"] for v in failing})
    print(f"{len(ids)} vulnerabilities at or above {args.severity.upper()}: "
          f"{', '.join(ids[:5])}{' ...' if len(ids) > 5 else ''}", file=sys.stderr)
    return 1


def _cmd_secrets(args: argparse.Namespace) -> int:
    findings = secret_findings(_load(args.report) or {}, _load(args.gitleaks), _load(args.baseline))
    _write(args.out, secrets_to_gitlab(findings, args.sha))
    for f in findings:
        print(f"  {f['tool']}: {f['rule']} at {f['file']}:{f['line']}")
    if findings:
        print(f"{len(findings)} possible secrets found (see {args.out})", file=sys.stderr)
        return 1
    print("no secrets found")
    return 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="_reports.py")
    sub = parser.add_subparsers(dest="command", required=True)
    conv = sub.add_parser("trivy-gitlab")
    conv.add_argument("report"), conv.add_argument("out"), conv.add_argument("--image", required=True)
    gate_cmd = sub.add_parser("trivy-gate")
    gate_cmd.add_argument("report"), gate_cmd.add_argument("--severity", required=True)
    gate_cmd.add_argument("--ignore-unfixed", action="store_true")
    sec = sub.add_parser("secrets-gitlab")
    sec.add_argument("report"), sec.add_argument("out"), sec.add_argument("--sha", required=True)
    sec.add_argument("--gitleaks"), sec.add_argument("--baseline")
    args = parser.parse_args(argv)
    if args.command == "trivy-gitlab":
        _write(args.out, trivy_to_gitlab(_load(args.report) or {}, args.image))
        return 0
    if args.command == "trivy-gate":
        return _cmd_trivy_gate(args)
    return _cmd_secrets(args)


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except (ValueError, KeyError, json.JSONDecodeError) as exc:
        print(f"report handling failed: {exc}", file=sys.stderr)
        sys.exit(1)
