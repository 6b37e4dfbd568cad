"""Hostile input: report steps in post { } that Jenkins would refuse while `ci-gen lint` passed.

Jenkins rejects a post condition it does not know ("Invalid condition") and a named parameter a
step does not have ("Invalid parameter"); the offline lint now says the same for the steps ci-gen
writes there (junit, recordIssues, archiveArtifacts).
"""
from __future__ import annotations

import pytest

from ci_gen import api
from ci_gen.targets.jenkins.lint import lint as lint_jenkins
from tests.emulators.jenkinsfile import validate as jenkins_server_validate

MANIFEST = """\
version: 1
name: app
targets: [jenkins]
image: {name: registry.example.com/ml/app}
test:
  - {name: unit, run: pytest -q}
"""


def _lint(text: str) -> tuple[str, ...]:
    result = lint_jenkins({"Jenkinsfile": text})[0]
    if result.skipped:
        pytest.skip(result.skipped)
    return result.problems


def test_generated_report_steps_pass_the_offline_lint() -> None:
    jenkinsfile = api.render_files(MANIFEST)["Jenkinsfile"].decode("utf-8")
    assert "junit testResults: '.ci-gen/reports/junit-unit.xml', allowEmptyResults: true" in jenkinsfile
    assert "recordIssues enabledForFailure: true, tool: sarif(pattern: '.ci-gen/reports/trivy.sarif'" in jenkinsfile
    assert _lint(jenkinsfile) == ()
    assert jenkins_server_validate(jenkinsfile) == []


def test_offline_lint_rejects_an_unknown_post_condition_and_step_parameter() -> None:
    text = ("pipeline {\n  agent any\n  stages {\n    stage('a') {\n      steps { echo 'x' }\n"
            "      post {\n        alwayz { echo 'y' }\n        failure {\n"
            "          script { try { junit testResult: 'r.xml' } catch (e) { } }\n        }\n      }\n    }\n  }\n"
            "  post { always { archiveArtifacts artifact: 'x' } }\n}\n")
    assert jenkins_server_validate(text) == [
        'WorkflowScript: 7: Invalid condition "alwayz" - valid conditions are [always, changed, fixed, regression, '
        'aborted, success, unsuccessful, unstable, failure, notBuilt, cleanup] @ line 7, column 9.']
    problems = _lint(text)
    assert problems[0] == ('Jenkinsfile:7:9: Invalid condition "alwayz" - valid conditions are [always, changed, '
                           'fixed, regression, aborted, success, unsuccessful, unstable, failure, notBuilt, cleanup]')
    assert problems[1:] == ('Jenkinsfile:9:32: Invalid parameter "testResult" of junit',
                            'Jenkinsfile:14:36: Invalid parameter "artifact" of archiveArtifacts')
