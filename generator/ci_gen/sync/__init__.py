"""`ci-gen sync`: bring Jenkins jobs and GitLab projects in line with their manifests.

Plan, then apply: sources yield manifests, each backend reads the server's state and computes
per-object changes, and only then (unless `--dry-run`/`--check`) writes them. Heavy client
libraries (python-gitlab, python-jenkins, rich) are imported only inside this package.
"""
