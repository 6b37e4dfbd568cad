"""`ci-gen sync`: bring each server (Jenkins jobs, GitLab projects) in line with the manifests.

Plan, then apply: sources yield manifests, each target's side (`targets/<name>/sync_side.py`)
reads its server's state and computes per-object changes, and only then (unless
`--dry-run`/`--check`) writes them. Heavy client libraries (python-gitlab, python-jenkins, rich)
are imported only inside the functions that use them, never by `validate` or `render --check`.
"""
