"""What the demo's steps stand on: running the CLI, waiting for Slack, moving the clock, narrating what happened."""

from __future__ import annotations

import contextlib
import io
import json
import shlex
import time
from typing import Any, TypeVar

from bot.demo.render import Transcript, aws_lines, slack_lines
from bot.demo.world import CHANNEL, CHANNEL_NAME, DemoWorld, scoped_environment
from bot.domain.errors import PamError
from sandbox.slack_calls import RecordedCall
from storage.models import AccessRequest, AccessSession, AuditEvent

_Row = TypeVar("_Row", AccessRequest, AccessSession, AuditEvent)

WAIT = 15.0  # seconds to wait for one step's Slack traffic before calling it missing


class DemoFailed(Exception):
    """A step of the story did not happen; the message says what was missing."""


class Stage:
    """A running `DemoWorld`, a `Transcript`, and the moves every step makes."""

    def __init__(self, world: DemoWorld, out: Transcript, *, wait: float = WAIT) -> None:
        self.world, self.out, self.wait_seconds = world, out, wait
        self.roles: dict[str, str] = {}  # role ARN → which hop it is, for the AWS lines
        self._seen = {"slack": 0, "aws": 0, "federation": 0}

    def cli(self, *argv: str, echo: bool = False) -> str:
        """Run a `pam-bot` sub-command through the real CLI code (parser and handler) in the demo's environment."""
        from bot.cli import parser

        self.out.say(f"  $ pam-bot {shlex.join(argv)}")
        args = parser().parse_args(argv)
        args.actor = "cli:dana"
        buffer = io.StringIO()
        with scoped_environment(self.world.env), contextlib.redirect_stdout(buffer):
            try:
                code = int(args.run(args) or 0)
            except PamError as error:
                raise DemoFailed(f"`pam-bot {' '.join(argv[:2])}` failed: {error.user_message}") from error
        if code != 0:
            raise DemoFailed(f"`pam-bot {' '.join(argv[:2])}` exited with {code}: {buffer.getvalue().strip()}")
        if echo:
            for line in buffer.getvalue().rstrip().splitlines():
                self.out.say(f"    {line}")
        return buffer.getvalue()

    def driver(self) -> Any:
        assert self.world.driver is not None, "the bot is not started"
        return self.world.driver

    def check(self, condition: bool, missing: str) -> None:
        if not condition:
            raise DemoFailed(missing)

    def wait(self, method: str, needle: str, missing: str, where: Any = None) -> RecordedCall:
        def matches(call: RecordedCall) -> bool:
            return call.ok and needle in json.dumps(call.args) and (where is None or where(call))
        try:
            return self.world.slack.wait_for(method, matches, timeout=self.wait_seconds)
        except TimeoutError:
            raise DemoFailed(f"{missing} (waited {self.wait_seconds:g} s)") from None

    def jump(self, moment: Any) -> None:
        minutes = (moment - self.world.clock()).total_seconds() / 60
        self.world.clock.set(moment)
        self.out.say(f"  ⏩ the demo clock jumps {minutes:.0f} minutes ahead; the scheduler's tick runs")

    def tick(self) -> Any:
        assert self.world.container is not None
        report = self.world.container.scheduler.tick()
        done = ", ".join(f"{name}={count}" for name, count in vars(report).items() if count) or "nothing due"
        self.out.say(f"  tick   {done}")
        return report

    def _poll(self, done: Any, within: Any) -> bool:
        """Whether `done()` becomes true within `within` (a timedelta), checking every 50 ms."""
        deadline = time.monotonic() + within.total_seconds()
        while time.monotonic() < deadline:
            if done():
                return True
            time.sleep(0.05)
        return bool(done())

    def session(self) -> AccessSession:
        sessions = self.rows(AccessSession)
        self.check(len(sessions) == 1, f"expected one session row, found {len(sessions)}")
        return sessions[0]

    def rows(self, model: type[_Row]) -> list[_Row]:
        assert self.world.container is not None
        with self.world.container.db.begin() as session:
            return list(session.query(model).order_by(model.id))

    def show(self, actor: str = "you") -> None:
        """Print what happened in Slack and AWS since the last call, in the order it happened."""
        slack = self.world.slack.calls[self._seen["slack"]:]
        aws = self.world.aws.calls()[self._seen["aws"]:]
        federation = self.world.federation.calls()[self._seen["federation"]:]
        events = [(c.at, slack_lines(c, self._name, actor)) for c in slack]
        events += [(c.at.timestamp(), aws_lines(c, self.roles)) for c in aws]
        after_aws = max((c.at.timestamp() for c in aws), default=0.0) + 1e-6
        events += [(after_aws, [f"  AWS    federation {c.action} → {c.status}   sign-in token for {c.session_arn} "
                                "(token not shown)"]) for c in federation]
        for _, lines in sorted(events, key=lambda event: event[0]):
            for line in lines:
                self.out.say(line)
        self._seen = {"slack": self._seen["slack"] + len(slack), "aws": self._seen["aws"] + len(aws),
                      "federation": self._seen["federation"] + len(federation)}

    def _name(self, some_id: str) -> str:
        return CHANNEL_NAME if some_id == CHANNEL else self.world.name_of(some_id)
