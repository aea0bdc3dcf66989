"""AWS failing under the bot: STS throttling, expired credentials and timeouts, the sign-in endpoint down."""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from bot.aws.broker import AwsBroker
from bot.clock import ManualClock, utcnow
from bot.config import Settings
from bot.runtime.container import build
from sandbox.federation import FederationStub
from sandbox.http import serve_wsgi
from sandbox.slack_api import SlackApiStandIn
from sandbox.slack_driver import SlackDriver
from storage.db import create_db_engine
from tests.conftest import truncate
from tests.e2e.helpers import wait_dm
from tests.e2e.tcp_proxy import TcpProxy
from tests.e2e.test_access_flow import ask, click, wait_status
from tests.fixtures_bot import APPROVER, EXTERNAL_ID, REQUESTER, AwsWorld, Bot, bot_env, populate_directory
from tests.fixtures_slack import SLACK_SIGNING_SECRET

SESSION_NAME = "alice@example.com+S-"  # how the requester's role session names begin


def grant_hops(bot: Bot, since: int) -> list[str]:
    """Outcome of every AssumeRole made for the requester since `since` (validations use another name)."""
    return [c.outcome for c in bot.aws.sandbox.assume_role_calls()[since:]
            if (c.session_name or "").startswith(SESSION_NAME)]


def approve(bot: Bot, ref: str) -> int:
    """Click Approve; return where the AWS sandbox's log stood just before."""
    since = len(bot.aws.sandbox.assume_role_calls())
    click(bot, APPROVER, "pam_approve", ref)
    return since


def assert_failed_without_session(bot: Bot, ref: str, code: str, *needles: str) -> None:
    wait_status(bot, ref, "failed")
    dm = json.dumps(wait_dm(bot.slack, REQUESTER, "could not be created"))
    for needle in needles:
        assert needle in dm, (needle, dm)
    assert not bot.sessions()
    request = bot.requests()[-1]
    assert request.failure_code == code
    event = [e for e in bot.audit("session.grant") if e.outcome == "failed"][-1]
    assert event.details["aws_code"] == code
    assert "Failed" in json.dumps(bot.card())  # the approvers see it on the card
    assert "Traceback" not in bot.everything_slack_saw()


def test_throttling_once_is_retried_and_granted(bot: Bot) -> None:
    bot.add_account()
    ref = ask(bot)
    bot.aws.sandbox.fail_next("AssumeRole", "Throttling", "Rate exceeded")
    since = approve(bot, ref)
    wait_status(bot, ref, "granted")
    assert grant_hops(bot, since) == ["Throttling", "ok", "ok"]
    assert len(bot.sessions()) == 1


def test_throttling_that_persists_fails_with_a_clear_message(bot: Bot) -> None:
    bot.add_account()
    ref = ask(bot)
    bot.aws.sandbox.fail_next("AssumeRole", "Throttling", "Rate exceeded", times=3)
    since = approve(bot, ref)
    assert_failed_without_session(bot, ref, "Throttling", "throttling", "try again in a minute")
    assert grant_hops(bot, since) == ["Throttling"] * 3


def test_expired_bot_credentials_fail_once_and_name_the_operator(bot: Bot) -> None:
    bot.add_account()
    ref = ask(bot)
    bot.aws.sandbox.fail_next("AssumeRole", "ExpiredToken", "The security token included in the request is expired")
    since = approve(bot, ref)
    assert_failed_without_session(bot, ref, "ExpiredToken", "credentials have expired", "operator")
    assert grant_hops(bot, since) == ["ExpiredToken"]  # not retried: retrying cannot help
    refused = bot.aws.sandbox.assume_role_calls()[since]
    event = [e for e in bot.audit("session.grant") if e.outcome == "failed"][-1]
    assert refused.request_id and f"(request {refused.request_id})" in event.details["detail"]


def test_federation_endpoint_down_fails_without_a_session_or_secrets(bot: Bot, federation: FederationStub) -> None:
    bot.add_account()
    ref = ask(bot)
    federation.set_down()
    since = approve(bot, ref)
    assert_failed_without_session(bot, ref, "FederationFailed", "sign-in service", "HTTP 503", "try again")
    assert grant_hops(bot, since) == ["ok", "ok"]  # the roles were assumed; only the link could not be made
    seen = bot.everything_slack_saw() + json.dumps([e.details for e in bot.audit()])
    for secret in ("SigninToken=", "sessionKey", "sessionToken", "Session=%7B", "SecretAccessKey"):
        assert secret not in seen


@pytest.fixture
def bot_behind_proxy(database_url: str, slack_api: SlackApiStandIn,
                     aws_world: AwsWorld) -> Iterator[tuple[Bot, TcpProxy]]:
    """The bot whose STS traffic goes through a TCP proxy, with a 1 s AWS timeout and two attempts."""
    endpoint = urlsplit(aws_world.sandbox.endpoint_url)
    proxy = TcpProxy(str(endpoint.hostname), int(endpoint.port or 80)).start()
    env = bot_env(database_url=database_url, slack=slack_api, aws=aws_world)
    broker = AwsBroker.from_environment(external_id=EXTERNAL_ID, signin_url=aws_world.federation.url,
                                        env={**env, "AWS_ENDPOINT_URL": f"http://127.0.0.1:{proxy.port}"},
                                        http_timeout=1, max_attempts=2)
    engine = create_db_engine(database_url)
    truncate(engine)
    populate_directory(slack_api)
    clock = ManualClock(utcnow())
    container = build(Settings.from_env(env), clock=clock, broker=broker)
    container.worker.start()
    url, stop = serve_wsgi(container.web)
    driver = SlackDriver(f"{url}/slack/events", SLACK_SIGNING_SECRET, api=slack_api, team_id=slack_api.team_id)
    yield Bot(url, container, slack_api, driver, aws_world, clock, engine), proxy
    proxy.restore()
    stop()
    container.close()
    engine.dispose()
    proxy.cut()


def test_sts_not_answering_is_retried_then_fails_clearly(bot_behind_proxy: tuple[Bot, TcpProxy]) -> None:
    bot, proxy = bot_behind_proxy
    bot.add_account()
    ref = ask(bot)
    accepted = proxy.accepted
    proxy.stall()
    click(bot, APPROVER, "pam_approve", ref)
    assert_failed_without_session(bot, ref, "AwsUnreachable", "did not answer in time", "Try again in a minute")
    assert proxy.accepted > accepted  # the second attempt came on a new connection
    proxy.restore()
    bot.driver.command(REQUESTER, "access prod-aws readonly 30m second try")
    bot.slack.wait_for("chat.postMessage", lambda c: "second try" in json.dumps(c.args))
    ref = bot.requests()[-1].ref
    click(bot, APPROVER, "pam_approve", ref)
    wait_status(bot, ref, "granted")  # once AWS answers again, nothing is left broken
