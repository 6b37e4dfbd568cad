"""run-test hands pytest a --junitxml through PYTEST_ADDOPTS: real pytest runs, real XML."""
from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from pathlib import Path

PYTEST = f"{sys.executable} -m pytest -q -p no:cacheprovider"


def _write_tests(root: Path) -> None:
    (root / "test_app.py").write_text("def test_ok():\n    assert 1 + 1 == 2\n\n"
                                      "def test_bad():\n    assert 1 + 1 == 3\n", encoding="utf-8")


def _suite(path: Path) -> ET.Element:
    root = ET.parse(path).getroot()
    return root if root.tag == "testsuite" else root.find("testsuite")  # type: ignore[return-value]


def test_a_failing_pytest_run_still_leaves_its_junit_report(run_step, tmp_path: Path) -> None:
    _write_tests(tmp_path)
    result = run_step("run-test", CI_GEN_TEST_NAME="unit", CI_GEN_TEST_COMMAND=f"{PYTEST} test_app.py")
    assert result.returncode == 1
    report = tmp_path / ".ci-gen/reports/junit-unit.xml"
    suite = _suite(report)
    assert (suite.get("tests"), suite.get("failures")) == ("2", "1")
    assert "JUnit report .ci-gen/reports/junit-unit.xml" in result.stdout


def test_the_path_comes_from_the_plan_and_user_addopts_are_kept(run_step, tmp_path: Path) -> None:
    _write_tests(tmp_path)
    result = run_step("run-test", CI_GEN_TEST_NAME="unit", CI_GEN_TEST_JUNIT="out/j.xml",
                      PYTEST_ADDOPTS="-k test_ok", CI_GEN_TEST_COMMAND=f"{PYTEST} test_app.py")
    assert result.returncode == 0, result.stderr
    assert "+ PYTEST_ADDOPTS=-k test_ok --junitxml=out/j.xml" in result.stdout
    assert _suite(tmp_path / "out/j.xml").get("tests") == "1"


def test_the_commands_own_junitxml_wins(run_step, tmp_path: Path) -> None:
    _write_tests(tmp_path)
    result = run_step("run-test", CI_GEN_TEST_NAME="unit",
                      CI_GEN_TEST_COMMAND=f"{PYTEST} --junitxml=mine.xml -k test_ok test_app.py")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "mine.xml").is_file()
    assert not (tmp_path / ".ci-gen/reports/junit-unit.xml").exists()
    assert "JUnit report" not in result.stdout


def test_a_stale_report_from_an_earlier_run_is_removed(run_step, tmp_path: Path) -> None:
    stale = tmp_path / ".ci-gen/reports/junit-unit.xml"
    stale.parent.mkdir(parents=True)
    stale.write_text("<testsuite tests='99'/>", encoding="utf-8")
    result = run_step("run-test", CI_GEN_TEST_NAME="unit", CI_GEN_TEST_COMMAND="echo not pytest")
    assert result.returncode == 0
    assert not stale.exists()


def test_a_report_path_outside_the_workspace_is_refused(run_step) -> None:
    for bad in ("/tmp/x.xml", "../x.xml", "a/../../x.xml"):
        result = run_step("run-test", CI_GEN_TEST_NAME="unit", CI_GEN_TEST_JUNIT=bad, CI_GEN_TEST_COMMAND="true")
        assert result.returncode == 2
        assert "must be a path inside the workspace" in result.stderr
