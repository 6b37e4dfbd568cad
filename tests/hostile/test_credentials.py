"""Hostile input: credentials must never leave the process, and what a server answers is untrusted.

Against the emulators over real HTTP, with the faults injected there: a server that echoes the
token in a 401/403 reason or body, a URL carrying `user:password@`, terminal escapes, rich
markup and XML-invalid characters in server messages, a Retry-After far beyond `--timeout`, and
masked variables in `--diff`. Every output is checked: the summary table (stdout), stderr, the
`--report` JSON, `--output json`, `--junit` and `lint --server`.
"""
from __future__ import annotations

import base64
import subprocess
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Iterator

import pytest

from ci_gen.cli import main
from tests.emulators.gitlab import GitLabEmulator
from tests.emulators.jenkins import JenkinsEmulator
from tests.sync.helpers import local_fleet, manifest, write

GITLAB_PASSWORD = "UrlPassw0rd-in-the-env"
REPO_TOKEN = "glcbt-JobTokenFromACheckout"
FLEET_REPO_TOKEN = "fleet-repo-t0ken-value"
# What a terminal or a JUnit reader must never receive from a server.
TERMINAL_ATTACK = "\x1b[2J\x1b]8;;http://evil.example/\x07click\x1b]8;;\x07 [/bold] [link=http://evil]x\x00\x0b"


@pytest.fixture
def servers(jenkins_emulator: JenkinsEmulator, gitlab_emulator: GitLabEmulator, monkeypatch: pytest.MonkeyPatch,
            tmp_path: Path) -> Iterator[tuple[JenkinsEmulator, GitLabEmulator]]:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # no stray JJB or python-gitlab config
    monkeypatch.setenv("CI_GEN_JENKINS_URL", jenkins_emulator.url)
    monkeypatch.setenv("CI_GEN_JENKINS_USER", jenkins_emulator.user)
    monkeypatch.setenv("CI_GEN_JENKINS_TOKEN", jenkins_emulator.token)
    monkeypatch.setenv("CI_GEN_GITLAB_URL", gitlab_emulator.url)
    monkeypatch.setenv("CI_GEN_GITLAB_TOKEN", gitlab_emulator.token)
    yield jenkins_emulator, gitlab_emulator


def secrets_of(jenkins: JenkinsEmulator, gitlab: GitLabEmulator) -> list[str]:
    basic = base64.b64encode(f"{jenkins.user}:{jenkins.token}".encode()).decode()
    return [jenkins.token, basic, gitlab.token]


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def sync_outputs(argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    """Run `ci-gen sync ARGV` twice (table, then --output json) with --report and --junit;
    return the exit code and every text that left the process."""
    report, junit = tmp_path / "report.json", tmp_path / "junit.xml"
    texts = []
    for output in ("text", "json"):
        code, out, err = run(["sync", *argv, "--no-progress", "--timeout", "5", "-o", output,
                              "--report", str(report), "--junit", str(junit)], capsys)
        texts += [out, err, report.read_text(encoding="utf-8"), junit.read_text(encoding="utf-8")]
        assert code in (1, 3), (code, out, err)  # a failed project, never an internal error
        assert "Traceback" not in err and "internal error" not in err, err
    return code, texts


def assert_clean(texts: list[str], secrets: list[str]) -> None:
    for text in texts:
        for secret in secrets:
            assert secret not in text, f"{secret!r} leaked in:\n{text}"


# -- 1. echoed tokens ---------------------------------------------------------------------------

@pytest.mark.parametrize("status", [401, 403])
def test_jenkins_echoing_the_token_leaks_it_nowhere(servers: tuple[JenkinsEmulator, GitLabEmulator], tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str], status: int) -> None:
    jenkins, gitlab = servers
    secrets = secrets_of(jenkins, gitlab)
    fleet = local_fleet(tmp_path, {"app": manifest("app", targets="[jenkins]")})
    jenkins.inject("POST", "createItem", times=10, status=status,
                   reason=f"Invalid password/token {jenkins.token} for Basic {secrets[1]}",
                   body={"message": f"token {jenkins.token}"})
    code, texts = sync_outputs(["--fleet", str(fleet), "--only", "jenkins"], tmp_path, capsys)
    assert any(f"[{status}]" in text for text in texts), texts[0]  # the failure itself is reported
    assert_clean(texts, secrets)
    assert "***" in texts[0]


def test_gitlab_echoing_the_token_leaks_it_nowhere(servers: tuple[JenkinsEmulator, GitLabEmulator], tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    jenkins, gitlab = servers
    gitlab.add_project("ml/app", files={"ci-gen.yaml": manifest("app")})
    fleet = write(tmp_path / "fleet.yaml", "version: 1\nprojects:\n  - gitlab: ml/app\n")
    gitlab.inject("GET", "repository/files", times=10, status=403,
                  body={"message": f"403 Forbidden - token {gitlab.token} lacks read_repository"})
    code, texts = sync_outputs(["--fleet", str(fleet)], tmp_path, capsys)
    assert "GitLab answered 403" in texts[0]
    assert_clean(texts, secrets_of(jenkins, gitlab))


def test_gitlab_preflight_error_line_leaks_nothing(servers: tuple[JenkinsEmulator, GitLabEmulator], tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    jenkins, gitlab = servers
    gitlab.inject("GET", "^/api/v4/user$", times=10, status=400, body={"error": f"bad PRIVATE-TOKEN {gitlab.token}"})
    write(tmp_path / "repo" / "ci-gen.yaml", manifest("app"))
    code, out, err = run(["sync", "-C", str(tmp_path / "repo"), "--no-progress", "--timeout", "5"], capsys)
    assert code == 3 and "cannot be reached" in err, err
    assert_clean([out, err], secrets_of(jenkins, gitlab))


@pytest.fixture
def lint_repo(servers: tuple[JenkinsEmulator, GitLabEmulator], tmp_path: Path) -> Path:
    servers[1].add_project("ml/app", files={"README.md": "x\n"})
    write(tmp_path / "repo" / "ci-gen.yaml", manifest("app", extra="gitlab: {project: ml/app}\n"))
    return tmp_path / "repo"


def test_lint_server_errors_leak_nothing(servers: tuple[JenkinsEmulator, GitLabEmulator], lint_repo: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    jenkins, gitlab = servers
    secrets = secrets_of(jenkins, gitlab)
    gitlab.inject("POST", "ci/lint", status=403, body={"message": f"403 token {gitlab.token} may not lint"})
    code, out, err = run(["lint", "--server", "-C", str(lint_repo)], capsys)
    assert code == 2 and "403" in err, err
    assert_clean([out, err], secrets)
    jenkins.inject("POST", "pipeline-model-converter", status=401, reason=f"Invalid token {jenkins.token}")
    code, out, err = run(["lint", "--server", "-C", str(lint_repo)], capsys)
    assert code == 3 and "[401]" in err, err
    assert_clean([out, err], secrets)


def test_lint_server_messages_are_scrubbed(servers: tuple[JenkinsEmulator, GitLabEmulator], lint_repo: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    jenkins, gitlab = servers
    lint = {"valid": False, "errors": [f"jobs: echoed {gitlab.token} {TERMINAL_ATTACK}"], "warnings": [TERMINAL_ATTACK],
            "merged_yaml": "", "includes": []}
    for output in ("text", "json"):
        gitlab.inject("POST", "ci/lint", status=200, body=lint)
        code, out, err = run(["lint", "--server", "-C", str(lint_repo), "-o", output], capsys)
        assert code == 1 and "echoed ***" in out, out
        assert_clean([out, err], secrets_of(jenkins, gitlab))
        assert "\x1b" not in out and "\x07" not in out and "\\u001b" not in out


# -- 2. URL userinfo ----------------------------------------------------------------------------

def test_url_credentials_are_never_stored_or_printed(servers: tuple[JenkinsEmulator, GitLabEmulator], tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    jenkins, gitlab = servers
    monkeypatch.setenv("CI_GEN_GITLAB_URL", gitlab.url.replace("://", f"://ci-bot:{GITLAB_PASSWORD}@"))
    gitlab.add_project("ml/app", files={"ci-gen.yaml": manifest("app")})
    checkout = tmp_path / "repos" / "local"
    write(checkout / "ci-gen.yaml", manifest("local", targets="[jenkins]"))
    subprocess.run(["git", "init", "-q", "-b", "main", str(checkout)], check=True)
    subprocess.run(["git", "-C", str(checkout), "remote", "add", "origin",
                    f"https://gitlab-ci-token:{REPO_TOKEN}@git.example.com/ml/local.git"], check=True)
    write(tmp_path / "repos" / "pinned" / "ci-gen.yaml", manifest("pinned", targets="[jenkins]"))
    fleet = write(tmp_path / "fleet.yaml", f"""\
        version: 1
        defaults:
          gitlab: {{mode: commit}}
        projects:
          - gitlab: ml/app
          - path: repos/local
          - {{path: repos/pinned, repo_url: 'https://deploy:{FLEET_REPO_TOKEN}@git.example.com/ml/pinned.git'}}
        """)
    secrets = [GITLAB_PASSWORD, REPO_TOKEN, FLEET_REPO_TOKEN]
    code, out, err = run(["sync", "--fleet", str(fleet), "--no-progress", "--dry-run", "--diff"], capsys)
    assert code == 0, out + err
    assert "<url>http://127.0.0.1" in out and "<url>https://git.example.com/ml/local.git</url>" in out
    assert_clean([out, err], secrets)
    code, out, err = run(["sync", "--fleet", str(fleet), "--no-progress"], capsys)
    assert code == 0, out + err
    configs = [jenkins.config_xml(f"ml/{name}") for name in ("app", "local", "pinned")]
    assert "<url>https://git.example.com/ml/pinned.git</url>" in configs[2]
    assert_clean([out, err, *configs], secrets)


def test_url_credentials_alone_are_refused_without_printing_them(servers: tuple[JenkinsEmulator, GitLabEmulator],
                                                                 tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    jenkins, _ = servers
    monkeypatch.delenv("CI_GEN_JENKINS_TOKEN")
    monkeypatch.delenv("CI_GEN_GITLAB_URL")
    monkeypatch.setenv("CI_GEN_JENKINS_URL", jenkins.url.replace("://", f"://admin:{jenkins.token}@"))
    write(tmp_path / "repo" / "ci-gen.yaml", manifest("app"))
    code, out, err = run(["sync", "-C", str(tmp_path / "repo"), "--no-progress"], capsys)
    assert code == 2 and "credentials in the server URL are not used" in err and "CI_GEN_JENKINS_TOKEN" in err, err
    assert jenkins.token not in out + err and jenkins.url in err


# -- 3. server text is untrusted --------------------------------------------------------------

def test_terminal_escapes_markup_and_xml_invalid_text_are_neutralised(
        servers: tuple[JenkinsEmulator, GitLabEmulator], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    jenkins, gitlab = servers
    gitlab.add_project("ml/app", files={"ci-gen.yaml": manifest("app")})
    fleet = local_fleet(tmp_path, {"local": manifest("local", targets="[jenkins]", folder="team")},
                        extra="defaults:\n  gitlab: {mode: commit}\n")
    write(fleet, fleet.read_text() + "  - gitlab: ml/app\n")
    jenkins.inject("POST", "createItem", times=10, status=403, reason=TERMINAL_ATTACK.replace("\x00", ""))
    gitlab.inject("GET", "repository/files", times=10, status=403,
                  body={"message": TERMINAL_ATTACK + "\u202e\ud800\ufffe\r\x7f\x85"})
    code, texts = sync_outputs(["--fleet", str(fleet)], tmp_path, capsys)
    assert "[/bold]" in texts[0] and "[/bold] [link=http://evil]x" in texts[2]  # text, not rich markup
    for text in texts:
        assert not any(ch in text for ch in "\x1b\x07\x00\x0b\r\x7f\x85\u202e\ud800\ufffe"), repr(text)
        assert "\\u001b" not in text
    root = ET.fromstring((tmp_path / "junit.xml").read_bytes())  # strict XML 1.0 parser
    assert root.get("failures") == "2"


# -- 4. Retry-After is capped by --timeout ---------------------------------------------------------

@pytest.mark.parametrize("headers", [{"Retry-After": "25"}, {"Retry-After": "soon"},
                                     {"RateLimit-Reset": "{now+25}"}])
def test_a_long_retry_after_does_not_stall_a_short_timeout(servers: tuple[JenkinsEmulator, GitLabEmulator],
                                                           tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                           headers: dict[str, str]) -> None:
    jenkins, gitlab = servers
    headers = {k: v.replace("{now+25}", str(int(time.time()) + 25)) for k, v in headers.items()}
    gitlab.add_project("ml/app", files={"ci-gen.yaml": manifest("app")})
    fleet = write(tmp_path / "fleet.yaml", "version: 1\ndefaults:\n  gitlab: {mode: commit}\n"
                                           "projects:\n  - gitlab: ml/app\n")
    jenkins.inject("GET", "^/api/json$", status=429, headers=headers)  # the fleet's one tree query
    gitlab.inject("GET", "repository/files", status=429, headers=headers)  # the manifest read
    started = time.monotonic()
    code, out, err = run(["sync", "--fleet", str(fleet), "--no-progress", "--timeout", "2"], capsys)
    elapsed = time.monotonic() - started
    assert code == 0, out + err
    assert jenkins.count("GET", "^/api/json$") >= 2 and gitlab.count("GET", "repository/files") >= 2
    assert elapsed < 9, f"a 25 s Retry-After stalled a 2 s-timeout run for {elapsed:.1f}s"


# -- 5. masked values in a diff -------------------------------------------------------------------

def test_masked_values_show_neither_value_nor_digest(servers: tuple[JenkinsEmulator, GitLabEmulator], tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    _, gitlab = servers
    gitlab.add_project("ml/app", files={"ci-gen.yaml": manifest("app", variables={"API_KEY": "new-secret-1"})})
    import gitlab as gitlab_lib

    with gitlab_lib.Gitlab(gitlab.url, private_token=gitlab.token) as client:
        client.projects.get("ml/app").variables.create({"key": "API_KEY", "value": "old-secret-1", "masked": True})
    fleet = write(tmp_path / "fleet.yaml", "version: 1\nprojects:\n  - gitlab: ml/app\n")
    code, out, err = run(["sync", "--fleet", str(fleet), "--no-progress", "--dry-run", "--diff",
                          "--only", "gitlab"], capsys)
    assert code == 0, out + err
    assert "-API_KEY=(masked)" in out and "+API_KEY=(masked, changed)" in out, out
    assert "old-secret-1" not in out and "new-secret-1" not in out
    assert "sha256:" not in out.split("gitlab variable API_KEY", 1)[1], out
