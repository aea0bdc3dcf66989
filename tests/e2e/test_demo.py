"""`pam-bot demo` through the real console script: the whole story, its success line, and no sign-in link shown."""

from __future__ import annotations

import io
import re
import subprocess
import sys
from pathlib import Path

from bot.demo import run_demo
from bot.demo.world import DemoWorld

CONSOLE_SCRIPT = Path(sys.executable).with_name("pam-bot")


def test_demo_tells_the_whole_story_and_redacts_the_link(tmp_path: Path) -> None:
    # A real-looking environment the demo must ignore: it never talks to a real workspace, account or database.
    env = {"PATH": f"{CONSOLE_SCRIPT.parent}:/usr/bin:/bin", "HOME": str(tmp_path),
           "SLACK_BOT_TOKEN": "xoxb-real-workspace-token", "SLACK_SIGNING_SECRET": "real-signing-secret",
           "SLACK_API_URL": "http://127.0.0.1:9/api/", "DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:9/x",
           "AWS_ACCESS_KEY_ID": "AKIAREALACCOUNTKEY00", "AWS_SECRET_ACCESS_KEY": "real-secret",
           "AWS_ENDPOINT_URL": "http://127.0.0.1:9", "AWS_PROFILE": "production"}
    result = subprocess.run([str(CONSOLE_SCRIPT), "demo"], env=env, capture_output=True, text=True, timeout=120)

    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout
    ok = re.search(r"^demo: OK — request (R-[A-Z0-9]{6}) granted, warned and ended", out, re.MULTILINE)
    assert ok, out[-2000:]
    ref = ok.group(1)
    for moment in ("$ pam-bot setup", "$ pam-bot resource add prod-aws", "$ pam-bot account add prod-aws readonly",
                   "alice  › /pam access prod-aws readonly 30m checking INC-42", f"asks for `prod-aws/readonly` ({ref})",
                   "[Approve]  [Deny]", "bob    › clicks [Approve]", "tick   warned=1", "tick   ended=1",
                   "audit chain intact"):
        assert moment in out, moment
    first_night, on_call = out.split("── 7. On call", 1)
    hops = [line for line in first_night.splitlines() if "session=alice@example.com" in line]
    assert [("hop 1" in h, "hop 2" in h) for h in hops] == [(True, False), (False, True)], hops
    assert all("ExternalId sent" in h for h in hops)
    assert "DurationSeconds=1800" in hops[1]
    assert "caller arn:aws:sts::123456789012:assumed-role/pam-bot-resource/alice@example.com+S-" in out
    dm = out[out.index("pam-bot → DM to alice"):]
    assert "[Open AWS Console ↗ <console link REDACTED>]" in dm
    assert "ends" in dm and "has ended" in dm
    for moment in ("alice  › /pam break-glass prod-aws readonly 15m INC-99", "took `prod-aws/readonly` without approval",
                   "DM to bob:", "used break-glass", "bob    › clicks [Reviewed]", "👀 Reviewed by @bob",
                   "[Extend]  [Request again]", "alice  › clicks [Extend]", "🔁 Extension of session S-",
                   "30m at ", "🗓️ Scheduled: the session starts", "tick   started=1"):
        assert moment in on_call, moment

    everything = out + result.stderr
    assert "SigninToken=" not in everything and "Action=login" not in everything
    assert "getSigninToken&" not in everything and "sessionToken" not in everything
    assert not re.search(r"https?://[^\s]*/federation\?", everything)
    assert "Traceback" not in result.stderr


def test_demo_stops_at_the_step_that_did_not_happen() -> None:
    def refuse_every_assume_role(world: DemoWorld) -> None:
        world.aws.fail_next("AssumeRole", "AccessDenied", "not authorized to perform sts:AssumeRole", times=50)

    result = run_demo(io.StringIO(), prepare=refuse_every_assume_role)
    assert not result.ok
    assert result.failed_step.startswith("1.")
    assert "resource add" in result.reason and "ExternalId" in result.reason
    assert "demo: FAILED at step 1" in result.transcript[-1]


def test_demo_names_a_missing_slack_message() -> None:
    def approval_channel_is_gone(world: DemoWorld) -> None:
        world.slack.fail_next("chat.postMessage", error="channel_not_found", times=50)

    result = run_demo(io.StringIO(), prepare=approval_channel_is_gone, wait=1.0)
    assert not result.ok and result.failed_step.startswith("3."), result
    assert "no approval card appeared" in result.reason  # she heard it waits; the outbox met the refusal
    assert not any("demo: OK" in line for line in result.transcript)
