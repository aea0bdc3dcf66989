"""`pam-bot demo`: the whole story on one machine, with no Slack workspace and no AWS account."""

from __future__ import annotations

import argparse
import importlib.util
import logging
import os
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TextIO

STEPS = (
    ("1. An admin connects pam-bot to AWS (the CLI an operator types)", "connect_aws"),
    ("2. pam-bot starts", "start_bot"),
    ("3. alice asks for console access in Slack", "ask"),
    ("4. bob approves: two AssumeRole hops, a sign-in link, a DM", "approve"),
    ("5. Four minutes before the end: the warning", "warn"),
    ("6. The session ends", "end"),
    ("7. On call at 3 a.m.: break-glass, extend, and access scheduled for a change window", "on_call"),
    ("8. The audit trail", "audit"),
)


@dataclass(frozen=True)
class DemoResult:
    """How the story went; `secrets` are values no log line or transcript line may contain."""

    ok: bool
    ref: str = ""
    failed_step: str = ""
    reason: str = ""
    secrets: tuple[str, ...] = ()
    transcript: tuple[str, ...] = ()


def run_command(args: argparse.Namespace) -> int:
    """`pam-bot demo`: play the story and exit 0 when every step happened."""
    if not os.environ.get("PAM_LOG_LEVEL"):
        logging.getLogger().setLevel(logging.ERROR)  # the transcript is the output; more logs only when asked
    if importlib.util.find_spec("moto") is None:
        print("error: the demo runs on a local AWS sandbox (moto): pip install 'pam-bot[demo]'", file=sys.stderr)
        return 2
    result = run_demo()
    return 0 if result.ok else 1


def run_demo(out: TextIO | None = None, *, prepare: Callable[[Any], None] | None = None,
             wait: float = 15.0) -> DemoResult:
    """Play every step; stop at the first one that does not happen and say which.

    `prepare(world)` runs once the stand-ins are up (tests use it to break something); `wait` is how long a
    step waits for the Slack traffic it expects.
    """
    from bot.demo.world import scoped_environment

    with scoped_environment({}):  # boto3 and friends must not see a real AWS_PROFILE, token or database
        return _play(out, prepare, wait)


def _play(out: TextIO | None, prepare: Callable[[Any], None] | None, wait: float) -> DemoResult:
    from bot.demo.render import Transcript
    from bot.demo.story import DemoFailed, Story
    from bot.demo.world import open_world

    started = time.monotonic()
    transcript = Transcript(out)
    transcript.say("pam-bot demo: the real bot against local stand-ins of Slack and AWS (nothing leaves "
                   "this machine)")
    world = open_world()
    transcript.hide(*world.secrets)
    transcript.say(f"  database  {world.env['DATABASE_URL']}")
    transcript.say(f"  AWS       sandbox at {world.aws.endpoint_url} (STS and IAM; trust policies, ExternalId "
                   f"and role chaining enforced)")
    transcript.say(f"  Slack     Web API stand-in at {world.slack.base_url}")
    transcript.say(f"  sign-in   federation stub at {world.federation.url}")
    story = Story(world, transcript, wait=wait)
    step = ""
    try:
        if prepare is not None:
            prepare(world)
        for step, method in STEPS:
            transcript.heading(step)
            getattr(story, method)()
    except DemoFailed as failure:
        return _failed(transcript, world, story, step, str(failure))
    except Exception as error:  # noqa: BLE001 - any crash is a failed step, reported with its type
        print(transcript.redact(traceback.format_exc()), file=sys.stderr)
        return _failed(transcript, world, story, step, f"{type(error).__name__}: {error}")
    finally:
        world.close()
    seconds = time.monotonic() - started
    transcript.say(f"\ndemo: OK — request {story.ref} granted, warned and ended ({seconds:.1f} s)")
    return DemoResult(True, story.ref, secrets=(*world.secrets, story.link), transcript=tuple(transcript.lines))


def _failed(transcript: Any, world: Any, story: Any, step: str, reason: str) -> DemoResult:
    story.show()  # what did happen, up to the step that did not
    line = transcript.redact(f"demo: FAILED at step {step.split('.')[0]} ({step.split('. ', 1)[-1]}): {reason}")
    transcript.lines.append(line)
    print(f"\n{line}", file=sys.stderr, flush=True)
    return DemoResult(False, story.ref, failed_step=step, reason=reason, secrets=(*world.secrets, story.link),
                      transcript=tuple(transcript.lines))
