"""Model-file scan for `scan model`: pickle-based files can run code when loaded.

Uses picklescan's Python API (it has no JSON output of its own).
Command line: _modelscan.py PATH OUT_JSON ; exit 1 when a dangerous import is found.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

# Formats that are (or may wrap) pickles; others (onnx, safetensors, TensorRT plans) load no code.
PICKLE_SUFFIXES = {".pkl", ".pickle", ".pt", ".pth", ".bin", ".ckpt", ".joblib", ".jl", ".npy", ".npz",
                   ".pt2", ".dat", ".data", ".zip", ".7z"}


def scan(path: Path) -> dict[str, Any]:
    from picklescan import scanner

    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    rows, dangerous, suspicious, errors = [], 0, 0, 0
    for file in files:
        if file.suffix.lower() not in PICKLE_SUFFIXES:
            rows.append({"file": str(file), "pickle": False, "globals": []})
            continue
        result = scanner.scan_file_path(str(file))
        found = [{"module": g.module, "name": g.name, "safety": g.safety.value} for g in result.globals]
        dangerous += sum(1 for g in found if g["safety"] == "dangerous")
        suspicious += sum(1 for g in found if g["safety"] == "suspicious")
        errors += int(bool(result.scan_err))
        rows.append({"file": str(file), "pickle": True, "globals": found, "scan_error": bool(result.scan_err)})
    return {"scanner": "picklescan", "path": str(path), "files": rows, "dangerous": dangerous,
            "suspicious": suspicious, "scan_errors": errors, "passed": dangerous == 0}


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: _modelscan.py PATH OUT_JSON", file=sys.stderr)
        return 2
    path, out = Path(argv[0]), Path(argv[1])
    if not path.exists():
        print(f"model path {path} does not exist", file=sys.stderr)
        return 1
    report = scan(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    for row in report["files"]:
        for g in row["globals"]:
            if g["safety"] != "innocuous":
                print(f"  {row['file']}: {g['safety']} import {g['module']}.{g['name']}")
    if not report["passed"]:
        print(f"{report['dangerous']} dangerous imports in pickle-based model files (see {out})",
              file=sys.stderr)
        return 1
    print(f"model scan clean: {len(report['files'])} files, {report['suspicious']} suspicious imports")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
