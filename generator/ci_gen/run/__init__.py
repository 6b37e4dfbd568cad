"""`ci-gen run`: the plan's jobs on this machine, in containers, through the Docker Engine API.

One module per job: `selection` (which jobs, in which order), `environment` (what each job
sees), `workspace` (the repository and artifacts as tar streams), `driver` (the Engine API calls,
or their printout for `--dry-run`), `docker_driver` (the only module that imports `docker`),
`runner` (runs the jobs and always cleans up) and `summary` (the table and the JSON result).
"""
