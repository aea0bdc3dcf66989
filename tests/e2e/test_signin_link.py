"""The console link over the real path: a flaky sign-in service, real token sizes, a link too long for a button."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from html import unescape
from urllib.parse import parse_qs, urlsplit
from urllib.request import urlopen

from sandbox.federation import FederationStub
from tests.e2e.helpers import button_urls
from tests.e2e.test_access_flow import ask, click, wait_status
from tests.fixtures_bot import APPROVER, CHANNEL, REQUESTER, Bot

BUTTON_URL_MAX = 3000  # Slack's limit on a button's url


def approve_and_get_dm(bot: Bot) -> tuple[str, dict[str, object]]:
    bot.add_account()
    ref = ask(bot)
    click(bot, APPROVER, "pam_approve", ref)
    dm = bot.slack.wait_for("chat.postMessage", lambda c: c.ok and c.args.get("channel") in (f"D{REQUESTER}", REQUESTER)
                            and "console access" in json.dumps(c.args), timeout=10).args
    wait_status(bot, ref, "granted")
    return ref, dm


def signs_in(federation: FederationStub, link: str) -> bool:
    with urlopen(link, timeout=5) as response:
        ok = response.status == 200
    return ok and federation.calls("login")[-1].status == 200


def test_a_flaky_sign_in_service_still_gives_the_link(bot: Bot, federation: FederationStub) -> None:
    federation.fail_next(2, status=503)
    _, dm = approve_and_get_dm(bot)
    (link,) = button_urls(dm)
    assert signs_in(federation, link)
    exchanges = federation.calls("getSigninToken")[-3:]
    assert [call.status for call in exchanges] == [503, 503, 200]
    assert all(call.method == "POST" and not call.secrets_in_query for call in exchanges)


def test_a_2kb_token_still_fits_the_button_and_the_issuer_is_a_url(make_bot: Callable[..., Bot],
                                                                   federation: FederationStub) -> None:
    bot = make_bot(PAM_ISSUER_URL="https://pam.example.com/")
    federation.token_length = 2048
    _, dm = approve_and_get_dm(bot)
    (link,) = button_urls(dm)
    assert len(link) <= BUTTON_URL_MAX and len(parse_qs(urlsplit(link).query)["SigninToken"][0]) == 2048
    assert signs_in(federation, link)
    assert federation.calls("login")[-1].issuer == "https://pam.example.com/"


def test_a_link_too_long_for_a_button_arrives_in_the_text_of_the_dm_only(bot: Bot,
                                                                         federation: FederationStub) -> None:
    federation.token_length = 3200
    ref, dm = approve_and_get_dm(bot)
    assert button_urls(dm) == []
    shown = json.dumps(dm)
    found = re.findall(r"<(https?://[^|>]+)\|Open AWS Console", shown)
    assert len(found) == 1
    link = unescape(found[0])
    assert len(link) > BUTTON_URL_MAX and signs_in(federation, link)
    assert f"/pam revoke {bot.sessions()[0].ref}" in shown
    token = parse_qs(urlsplit(link).query)["SigninToken"][0]
    assert token not in json.dumps(bot.slack.messages(CHANNEL))
    assert token not in json.dumps([event.details for event in bot.audit()])
    assert not bot.audit("session.link_not_delivered"), ref
