"""The demo's world: the AWS sandbox, the federation stub, the Slack stand-in and the bot served over HTTP."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from bot.clock import ManualClock, utcnow
from bot.config import Settings
from bot.runtime.container import Container, build
from sandbox.aws import AwsSandbox
from sandbox.federation import FederationStub
from sandbox.http import serve_wsgi
from sandbox.slack_api import SlackApiStandIn
from sandbox.slack_driver import SlackDriver

ALICE, BOB, DANA = "U0ALICE", "U0BOB", "U0DANA"
CHANNEL, CHANNEL_NAME = "C0APPROVALS", "aws-approvals"
PEOPLE = {ALICE: ("alice", "alice@example.com"), BOB: ("bob", "bob@example.com"), DANA: ("dana", "dana@example.com")}
_SCOPED_PREFIXES = ("AWS_", "SLACK_", "PAM_")  # variables the demo never takes from the real environment


@dataclass
class DemoWorld:
    """Everything the story needs; `close()` stops it all and deletes the temporary folder."""

    folder: str
    aws: AwsSandbox
    federation: FederationStub
    slack: SlackApiStandIn
    env: dict[str, str]
    bot_arn: str
    suffix: str
    clock: ManualClock = field(default_factory=lambda: ManualClock(utcnow()))
    container: Container | None = None
    driver: SlackDriver | None = None
    url: str = ""
    _stops: list[contextlib.ExitStack] = field(default_factory=list)

    @property
    def secrets(self) -> tuple[str, ...]:
        """Values that must never show up in a log line or the transcript."""
        return (self.env["SLACK_BOT_TOKEN"], self.env["SLACK_SIGNING_SECRET"], self.env["AWS_SECRET_ACCESS_KEY"])

    def start_bot(self) -> Container:
        """Build the bot exactly as `pam-bot serve` does (demo clock aside) and serve it over real HTTP."""
        settings = Settings.from_env(self.env)
        container = build(settings, clock=self.clock, aws_env=self.env)
        container.worker.start()
        url, stop = serve_wsgi(container.web)
        self.container, self.url = container, url
        stack = contextlib.ExitStack()
        stack.callback(container.close)
        stack.callback(stop)  # runs first: no new requests, then drain the listeners
        self._stops.append(stack)
        self.driver = SlackDriver(f"{url}/slack/events", self.env["SLACK_SIGNING_SECRET"], api=self.slack,
                                  team_id=self.slack.team_id)
        return container

    def name_of(self, user_id: str) -> str:
        user = self.slack.user(user_id)
        return str(user["name"]) if user else user_id

    def close(self) -> None:
        while self._stops:
            self._stops.pop().close()
        self.federation.stop()
        self.aws.stop()
        self.slack.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


def open_world() -> DemoWorld:
    """Start the stand-ins and the bot's AWS identity; nothing here talks to the internet."""
    folder = tempfile.mkdtemp(prefix="pam-demo-")
    suffix = secrets.token_hex(2)  # moto's state is per process: unique names keep a second run apart
    slack = SlackApiStandIn(f"xoxb-demo-{secrets.token_hex(12)}").start()
    aws = AwsSandbox().start()
    federation = FederationStub(aws).start()
    slack.add_channel(CHANNEL, name=CHANNEL_NAME)
    for user_id, (name, email) in PEOPLE.items():
        slack.add_user(user_id, name=name, email=email)
    try:
        key, secret, arn = aws.create_bot_identity("pam-bot")
    except aws.iam().exceptions.EntityAlreadyExistsException:
        key, secret, arn = aws.create_bot_identity(f"pam-bot-{suffix}")
    env = {
        "SLACK_BOT_TOKEN": slack.bot_token, "SLACK_SIGNING_SECRET": secrets.token_hex(16),
        "SLACK_API_URL": slack.base_url, "DATABASE_URL": f"sqlite:///{folder}/pam.db",
        "PAM_ADMINS": DANA, "PAM_APPROVAL_CHANNEL": CHANNEL, "PAM_SIGNIN_URL": federation.url,
        "PAM_EXPIRY_WARNING": "5m", "AWS_ENDPOINT_URL": aws.endpoint_url, "AWS_ACCESS_KEY_ID": key,
        "AWS_SECRET_ACCESS_KEY": secret, "AWS_DEFAULT_REGION": aws.region,
    }
    return DemoWorld(folder=folder, aws=aws, federation=federation, slack=slack, env=env, bot_arn=arn,
                     suffix=suffix)


@contextlib.contextmanager
def scoped_environment(env: Mapping[str, str]) -> Iterator[None]:
    """Run CLI code with the demo's variables only: real AWS_*, SLACK_* and PAM_* values are hidden meanwhile."""
    saved = dict(os.environ)
    try:
        for name in list(os.environ):
            if name.startswith(_SCOPED_PREFIXES) or name == "DATABASE_URL":
                del os.environ[name]
        os.environ.update(env)
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)
