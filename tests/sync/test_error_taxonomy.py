"""One error taxonomy: a project's failure in sync or report is one of errors.py's classes, and the
run's exit code and the reports' "user"/"server"/"internal" come from that class, as the CLI's
boundary maps a raised one."""
from __future__ import annotations

import gitlab
import jenkins
import pytest
import requests

from ci_gen.errors import (CiGenError, InternalError, ManifestError, Problem, ServerError, UsageError, UserError,
                           error_kind, run_exit_code)
from ci_gen.report.collect import Source as ReportSource
from ci_gen.report.targets import Target as ReportTarget
from ci_gen.sync.main import exit_code
from ci_gen.targets.base import Change
from ci_gen.targets.sync_data import ProjectResult
from ci_gen.targets import TARGETS
from ci_gen.templating import TemplateError

CASES = [
    (UserError("bad input"), "user", 1),
    (ManifestError([Problem("ci-gen.yaml", 3, 1, "name", "required")]), "user", 1),
    (UsageError("wrong flag"), "user", 1),  # a project's input, not the command line
    (ServerError("GitLab answered 503"), "server", 3),
    (InternalError("unexpected error: KeyError"), "internal", 4),
    (TemplateError("unescaped value"), "internal", 4),  # a bug: the CLI exits 4 for it too
    (CiGenError("root"), "internal", 4),
]


@pytest.mark.parametrize(("error", "kind", "code"), CASES, ids=[type(c[0]).__name__ for c in CASES])
def test_a_failed_project_keeps_its_exception_and_the_run_exits_by_its_class(
        error: CiGenError, kind: str, code: int) -> None:
    result = ProjectResult("gitlab:ml/app")
    result.fail(error)
    assert result.failure is error and result.error == str(error)
    assert result.status == "failed" and result.error_kind == kind == error_kind(error)
    assert exit_code([result, ProjectResult("path:/x")], check=False) == code
    source = ReportSource(ReportTarget("path:/x", "app", {"gitlab": "ml/app"}), "gitlab", "ml/app")
    source.failure = error
    assert source.error_kind == kind


def test_the_worst_class_decides_and_the_first_cause_is_kept() -> None:
    assert run_exit_code([]) == 0
    assert run_exit_code([UserError("a"), ServerError("b")]) == 3
    assert run_exit_code([ServerError("b"), InternalError("c"), UserError("a")]) == 4
    result = ProjectResult("gitlab:ml/app")
    result.fail(ServerError("GitLab unreachable: ConnectionError"))
    result.fail(UserError("a consequence"))
    assert result.error == "GitLab unreachable: ConnectionError" and result.error_kind == "server"
    # a manifest's every problem stays in the message, each with its location
    many = ProjectResult("path:/y")
    many.fail(ManifestError([Problem("ci-gen.yaml", 1, 1, "a", "x"), Problem("ci-gen.yaml", 2, 1, "b", "y")]))
    assert many.error is not None and len(many.error.splitlines()) == 2


def test_check_mode_turns_pending_changes_into_exit_1_only_when_nothing_failed() -> None:
    pending = ProjectResult("gitlab:ml/a", "a", [Change("gitlab", "file", ".gitlab-ci.yml", "update")])
    assert exit_code([pending], check=True) == 1
    assert exit_code([pending], check=False) == 0
    broken = ProjectResult("gitlab:ml/b")
    broken.fail(ServerError("down"))
    assert exit_code([pending, broken], check=True) == 3


def _gitlab_error(code: int) -> BaseException:
    return gitlab.GitlabHttpError("boom", response_code=code)


def _jenkins_http_error(code: int) -> BaseException:
    response = requests.Response()
    response.status_code, response.reason = code, "Forbidden"
    return requests.HTTPError(response=response)


@pytest.mark.parametrize(("target", "exc", "cls"), [
    ("gitlab", gitlab.GitlabAuthenticationError("no", response_code=401), UserError),
    ("gitlab", _gitlab_error(404), UserError),
    ("gitlab", _gitlab_error(429), ServerError),
    ("gitlab", _gitlab_error(502), ServerError),
    ("gitlab", requests.ConnectionError("refused"), ServerError),
    ("gitlab", KeyError("id"), InternalError),
    ("jenkins", _jenkins_http_error(403), UserError),
    ("jenkins", requests.Timeout("slow"), ServerError),
    ("jenkins", jenkins.JenkinsException("Error in request. Possibly authentication failed [500]"), ServerError),
    ("jenkins", jenkins.JenkinsException("job[x] does not exist"), UserError),
    ("jenkins", ZeroDivisionError("x"), InternalError),
])
def test_each_target_translates_its_client_library_errors_into_the_taxonomy(
        target: str, exc: BaseException, cls: type[CiGenError]) -> None:
    translated = TARGETS[target].remote.translate_error(exc)
    assert type(translated) is cls, translated
    assert str(translated) and "\n" not in str(translated)


def test_history_reads_translate_a_missing_job_and_a_server_failure() -> None:
    remote = TARGETS["jenkins"].remote
    assert type(remote.history_error(jenkins.NotFoundException("gone"))) is UserError
    assert type(remote.history_error(jenkins.BadHTTPException("Error 502\nmore"))) is ServerError
    assert type(TARGETS["gitlab"].remote.history_error(_gitlab_error(503))) is ServerError
