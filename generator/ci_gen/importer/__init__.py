"""`ci-gen import`: read a hand-written `.gitlab-ci.yml` / declarative `Jenkinsfile` and draft a
manifest from it.

`gitlab` and `jenkins` turn their file into `Facts` (what the pipeline does, each with its
file:line); `shell` says what one shell command does for both; `draft` merges the facts and
writes the manifest text with what could not be mapped listed at the top. Nothing here runs
the pipeline's code: Groovy is read, never executed.
"""
