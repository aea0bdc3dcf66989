"""SIGTERM while a grant is in flight: `pam-bot serve` (web path and worker in one) finishes it before exiting."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from sandbox.slack_api import SlackApiStandIn
from sandbox.slack_driver import SlackDriver
from storage.db import create_db_engine, upgrade
from tests.e2e.helpers import wait_ephemeral, wait_for
from tests.e2e.test_deploy import ROOT, free_port, output, wait_healthy
from tests.fixtures_bot import APPROVER, CHANNEL, REQUESTER, AwsWorld, bot_env, populate_directory
from tests.fixtures_slack import SLACK_SIGNING_SECRET

BIN = Path(sys.executable).parent


def cli(env: dict[str, str], *args: str) -> None:
    result = subprocess.run([str(BIN / "pam-bot"), *args], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_sigterm_drains_an_acknowledged_grant(tmp_path: Path, slack_api: SlackApiStandIn,
                                              aws_world: AwsWorld) -> None:
    database_url = f"sqlite:///{tmp_path}/pam.db"
    upgrade(engine := create_db_engine(database_url))
    engine.dispose()
    populate_directory(slack_api)
    port = free_port()
    env = {**bot_env(database_url=database_url, slack=slack_api, aws=aws_world), "PORT": str(port),
           "PATH": f"{BIN}:/usr/bin:/bin", "HOME": str(tmp_path)}
    resource = aws_world.resource_role()
    cli(env, "resource", "add", "prod-aws", "--role-arn", resource)
    cli(env, "account", "add", "prod-aws", "readonly", "--role-arn", aws_world.target_role(resource),
        "--duration", "1h", "--approvers", APPROVER, "--channel", CHANNEL, "--requesters", "everyone")

    log = open(tmp_path / "web.log", "wb")  # noqa: SIM115 - closed below
    web = subprocess.Popen(["bash", "-c", f"exec pam-bot serve --port {port}"], cwd=ROOT, env=env, stdout=log,
                           stderr=subprocess.STDOUT, start_new_session=True)
    web.log_path = log.name  # type: ignore[attr-defined]
    try:
        wait_healthy(web, port)
        driver = SlackDriver(f"http://127.0.0.1:{port}/slack/events", SLACK_SIGNING_SECRET, api=slack_api)
        driver.command(REQUESTER, "access prod-aws readonly 30m checking INC-42")
        wait_ephemeral(slack_api, "is waiting for approval", timeout=10)
        slack_api.wait_for("chat.postMessage", lambda c: c.ok and c.args.get("channel") == CHANNEL,
                           timeout=10)  # the card, posted by the outbox
        card = slack_api.messages(CHANNEL)[-1]
        ref = card["text"].split()[2].rstrip(":")
        slack_api.delay_next("chat.postMessage", 3.0)  # the next post is the DM with the link: hold it
        looked_up = len([c for c in slack_api.calls_to("users.info") if c.args.get("user") == REQUESTER])
        assert driver.click(APPROVER, "pam_approve", ref, channel_id=CHANNEL, message_ts=card["ts"]).status == 200
        wait_for(lambda: len([c for c in slack_api.calls_to("users.info") if c.args.get("user") == REQUESTER])
                 > looked_up, "the grant's own check of the requester, just before AWS and the DM", 15)

        web.send_signal(signal.SIGTERM)  # the grant is between its ack and its DM
        assert web.wait(timeout=40) == 0, output(web)
    finally:
        if web.poll() is None:
            os.killpg(web.pid, signal.SIGKILL)
            web.wait()
        log.close()

    dms = slack_api.dms_to(REQUESTER)
    assert any("Open AWS Console" in str(call.args) for call in dms), output(web)
    assert "stopped: scheduler off, jobs in hand finished" in output(web)
