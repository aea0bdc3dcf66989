"""Operator paths end in one `error:` line naming the variable or path, the cause and the next step."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from sandbox.slack_api import SlackApiStandIn
from tests.e2e.test_deploy import BIN, free_port, output, procfile


def pam_bot(environment: dict[str, str], *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "pam-bot"), *args], env=environment, cwd=cwd, capture_output=True, text=True,
                          timeout=90)


def one_error(text: str) -> str:
    """The single `error:` line of a short answer without a traceback."""
    errors = [line for line in text.splitlines() if line.startswith("error:") or "not serving:" in line]
    assert len(errors) == 1 and "Traceback" not in text, text
    assert "Worker failed to boot" not in text and len(text.strip().splitlines()) <= 4, text
    return errors[0]


def test_a_bad_database_url_names_the_variable_and_the_accepted_forms(deploy_env: dict[str, str]) -> None:
    result = pam_bot({**deploy_env, "DATABASE_URL": "mysql-ish://db.internal/pam"}, "resource", "list")
    assert result.returncode == 2
    line = one_error(result.stderr)
    assert "DATABASE_URL" in line and "sqlite:////" in line and "postgresql://" in line


def test_an_unreachable_database_names_it_without_the_password(deploy_env: dict[str, str]) -> None:
    url = f"postgresql://pam:hunter2@127.0.0.1:{free_port()}/pam"
    result = pam_bot({**deploy_env, "DATABASE_URL": url}, "account", "list")
    assert result.returncode == 2
    line = one_error(result.stderr)
    assert "DATABASE_URL" in line and "cannot be reached" in line and "refused" in line.lower()
    assert "hunter2" not in result.stderr and "***" in line


def test_an_unwritable_export_path_is_named_and_nothing_is_audited(deploy_env: dict[str, str], tmp_path: Path) -> None:
    assert pam_bot(deploy_env, "db", "upgrade").returncode == 0
    for target in (tmp_path / "missing" / "audit.jsonl", tmp_path):
        result = pam_bot(deploy_env, "audit", "export", "--output", str(target))
        assert result.returncode == 2
        line = one_error(result.stderr)
        assert f"--output {target}" in line and "cannot write" in line and "standard output" in line
    events = [json.loads(line) for line in pam_bot(deploy_env, "audit", "export").stdout.splitlines()]
    assert [e["action"] for e in events if e["action"] == "audit.export"] == []


def test_serve_with_a_bad_slack_token_says_so_in_one_line(deploy_env: dict[str, str], slack_api: SlackApiStandIn) -> None:
    slack_api.fail_next("auth.test", error="invalid_auth", times=5)
    result = pam_bot(deploy_env, "serve", "--port", str(free_port()))
    assert result.returncode == 2
    line = one_error(result.stderr)
    assert "invalid_auth" in line and "SLACK_BOT_TOKEN" in line


def test_serve_with_slack_unreachable_says_so_in_one_line(deploy_env: dict[str, str]) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}/api/"
    result = pam_bot({**deploy_env, "SLACK_API_URL": nowhere}, "serve", "--port", str(free_port()))
    assert result.returncode == 2
    line = one_error(result.stderr)
    assert "slack_unreachable" in line and "SLACK_API_URL" in line
    assert "Failed to send a request" not in result.stderr


def test_serve_and_the_web_process_with_the_database_unreachable_say_so_in_one_line(deploy_env: dict[str, str],
                                                                                   launch) -> None:
    down = {**deploy_env, "DATABASE_URL": f"postgresql://pam@127.0.0.1:{free_port()}/pam"}
    result = pam_bot(down, "serve", "--port", str(free_port()))
    assert result.returncode == 2
    assert "DATABASE_URL" in one_error(result.stderr)
    web = launch(procfile()["web"], down)
    assert web.wait(timeout=60) != 0
    assert "DATABASE_URL" in one_error(output(web))


def test_the_cli_refuses_to_create_a_database_in_another_folder(deploy_env: dict[str, str], tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    default = {k: v for k, v in deploy_env.items() if k != "DATABASE_URL"}
    for command in (["setup"], ["resource", "list"], ["doctor"], ["audit", "verify"]):
        result = pam_bot(default, *command, cwd=elsewhere)
        assert result.returncode == 2, command
        line = one_error(result.stderr)
        assert str(elsewhere / "pam.db") in line and "relative to the current folder" in line
        assert "pam-bot db upgrade" in line
    missing = tmp_path / "typo.db"
    line = one_error(pam_bot({**deploy_env, "DATABASE_URL": f"sqlite:///{missing}"}, "account", "list").stderr)
    assert str(missing) in line and "does not exist" in line
    assert list(elsewhere.iterdir()) == [] and not missing.exists()


def test_db_upgrade_creates_the_database_and_verbose_names_it(deploy_env: dict[str, str], tmp_path: Path) -> None:
    default = {k: v for k, v in deploy_env.items() if k != "DATABASE_URL"}
    created = pam_bot(default, "db", "upgrade", cwd=tmp_path)
    assert created.returncode == 0 and (tmp_path / "pam.db").exists()
    assert str(tmp_path / "pam.db") in created.stdout
    listed = pam_bot(default, "--verbose", "resource", "list", cwd=tmp_path)
    assert listed.returncode == 0 and f"database: sqlite:///{tmp_path / 'pam.db'}" in listed.stderr


def test_the_external_id_is_never_made_up_by_a_cli_command(deploy_env: dict[str, str], tmp_path: Path) -> None:
    """A database created while PAM_EXTERNAL_ID was set stores none; without the variable the CLI refuses."""
    assert pam_bot({**deploy_env, "PAM_EXTERNAL_ID": "pam-configured-id"}, "db", "upgrade").returncode == 0
    for command in (["setup", "--json"], ["resource", "add", "prod", "--role-arn",
                                          "arn:aws:iam::111122223333:role/pam-resource"]):
        result = pam_bot(deploy_env, *command)
        assert result.returncode == 2
        line = one_error(result.stderr)
        assert "no ExternalId" in line and "PAM_EXTERNAL_ID" in line
    generated = pam_bot(deploy_env, "audit", "export").stdout
    assert "installation.external_id_generated" not in generated


def test_a_reader_that_stops_reading_ends_the_command_quietly(deploy_env: dict[str, str]) -> None:
    """`pam-bot schema | head`: the pipe closes before pam-bot writes; no traceback, no error line, exit 141."""
    command = subprocess.Popen([str(BIN / "pam-bot"), "schema"], env=deploy_env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    assert command.stdout is not None and command.stderr is not None
    command.stdout.close()  # the reader is gone before the first line
    assert command.wait(timeout=60) == 141
    assert command.stderr.read() == ""
