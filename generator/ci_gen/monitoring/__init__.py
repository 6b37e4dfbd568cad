"""Monitoring as code: one SLI definition (sli.py) rendered into Prometheus rules, a scrape
configuration, a Grafana dashboard, Kubernetes objects and the sli.json the steps read.

Only `render` imports these modules; `validate` and `render --check` never do.
"""
