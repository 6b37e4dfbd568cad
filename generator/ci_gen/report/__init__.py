"""`ci-gen report`: deployment history from GitLab and Jenkins, DORA keys and the deploy-time
model. Data flows one way:

    sources (fleet/repo) -> fetch (targets/<name>/history.py per server; cache) -> Deploy rows
      -> metrics (per project x environment) + model (OLS) -> outputs (table, json, csv,
         openmetrics, html)

The command (`command.run_report`) is the only entry point; heavy libraries (python-gitlab,
python-jenkins, statsmodels, altair) are imported inside the functions that use them.
"""
