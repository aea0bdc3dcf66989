"""The everyday path over real HTTP: /pam access → card → Approve → two AssumeRoles → DM with the link."""

from __future__ import annotations

import json
import threading
import time

from sqlalchemy import func, select

from sandbox.aws_world import trusted_by
from sandbox.slack_payloads import plain_text_value, static_select
from tests.e2e.helpers import button_urls, has_buttons, wait_dm, wait_ephemeral, wait_for
from storage.models import Decision
from tests.fixtures_bot import ADMIN, APPROVER, APPROVER_2, CHANNEL, EXTERNAL_ID, OUTSIDER, REQUESTER, Bot


def ask(bot: Bot, text: str = "access prod-aws readonly 30m checking INC-42", user: str = REQUESTER) -> str:
    """Run /pam and return the ref of the request it created, once the worker has handled it and the outbox has
    tried its card (a fault planned after this call is then met by what comes next, not by the card). Waiting for
    the answer alone would not do for a second ask: the first one's answer says the same."""
    asked_before = len(bot.requests())
    response = bot.driver.command(user, text)
    assert response.status == 200
    bot.settle()
    wait_ephemeral(bot.slack, "is waiting for approval")
    made = bot.requests()
    assert len(made) == asked_before + 1, [(r.ref, r.status) for r in made]
    return made[-1].ref


def click(bot: Bot, user: str, action: str, ref: str) -> None:
    card = bot.card()
    response = bot.driver.click(user, action, ref, channel_id=CHANNEL, message_ts=card["ts"])
    assert response.status == 200


def wait_status(bot: Bot, ref: str, status: str, timeout: float = 10.0) -> None:
    wait_for(lambda: any(r.ref == ref and r.status == status for r in bot.requests()),
             lambda: f"{ref} to become {status}: {[(r.ref, r.status) for r in bot.requests()]}", timeout)


def test_happy_path_end_to_end(bot: Bot) -> None:
    target = bot.add_account()
    calls_before = len(bot.aws.sandbox.assume_role_calls())
    ref = ask(bot)

    card = bot.card()
    assert has_buttons(card)
    text = json.dumps(card)
    assert f"<@{REQUESTER}>" in text and "prod-aws/readonly" in text and "checking INC-42" in text
    assert target in text and "30m" in text and ref in text

    click(bot, APPROVER, "pam_approve", ref)
    dm = wait_dm(bot.slack, REQUESTER, "Open AWS Console")
    links = button_urls(dm)
    assert len(links) == 1 and links[0].startswith(bot.aws.federation.url)
    assert "<!date^" in json.dumps(dm) and "15 minutes" in json.dumps(dm)

    hops = bot.aws.sandbox.assume_role_calls()[calls_before:]
    grant_hops = [h for h in hops if h.params.get("RoleSessionName", "").startswith("alice@example.com+S-")]
    assert [h.params["RoleArn"] for h in grant_hops] == [bot.accounts["prod-aws"], target]
    assert all(h.params.get("ExternalId") == EXTERNAL_ID for h in grant_hops)
    assert all(h.outcome == "ok" for h in grant_hops), grant_hops
    assert grant_hops[0].caller_arn == bot.aws.bot_arn
    assert grant_hops[1].caller_key_id == grant_hops[0].issued_key_id
    assert grant_hops[1].params.get("DurationSeconds") == "1800"

    wait_status(bot, ref, "granted")
    (session,) = bot.sessions()
    assert session.role_session_name == f"alice@example.com+{session.ref}"
    assert {h.params["RoleSessionName"] for h in grant_hops} == {session.role_session_name}
    assert session.status == "active"
    bot.slack.wait_for("chat.update", lambda c: "Granted" in json.dumps(c.args))
    card = bot.card()
    assert not has_buttons(card)
    assert f"<@{APPROVER}>" in json.dumps(card) and "Granted" in json.dumps(card)
    assert links[0] not in json.dumps(bot.slack.messages(CHANNEL))
    assert links[0] not in json.dumps([e.details for e in bot.audit()])
    actions = [e.action for e in bot.audit()]
    assert "request.create" in actions and "request.approve" in actions and "session.granted" in actions
    (granted,) = bot.audit("session.granted")  # both hops' request ids, for finding them in CloudTrail
    assert granted.details["aws_request_ids"] == [h.request_id for h in grant_hops] and all(
        h.request_id for h in grant_hops)


def test_requester_cannot_approve_own_request(bot: Bot) -> None:
    bot.add_account(approver_ids=(REQUESTER, APPROVER))
    ref = ask(bot)
    click(bot, REQUESTER, "pam_approve", ref)
    wait_ephemeral(bot.slack, "own request")
    assert bot.requests()[-1].status == "pending"
    refused = bot.audit("request.approve")
    assert refused and refused[-1].outcome == "refused" and refused[-1].actor == REQUESTER


def test_non_approver_is_refused_and_audited(bot: Bot) -> None:
    bot.add_account()
    ref = ask(bot)
    click(bot, OUTSIDER, "pam_approve", ref)
    wait_ephemeral(bot.slack, "not an approver")
    assert bot.requests()[-1].status == "pending"
    assert bot.audit("request.approve")[-1].outcome == "refused"
    assert not bot.sessions()


def test_double_click_grants_once(bot: Bot) -> None:
    bot.add_account()
    ref = ask(bot)
    threads = [threading.Thread(target=click, args=(bot, APPROVER, "pam_approve", ref)) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wait_dm(bot.slack, REQUESTER, "Open AWS Console")
    wait_status(bot, ref, "granted")
    time.sleep(0.5)
    assert len(bot.sessions()) == 1
    assert len([c for c in bot.slack.dms_to(REQUESTER) if "Open AWS Console" in json.dumps(c.args)]) == 1


def test_two_approvers_at_once_grant_once(bot: Bot) -> None:
    bot.add_account()
    calls_before = len(bot.aws.sandbox.assume_role_calls())
    ref = ask(bot)
    barrier = threading.Barrier(2)

    def approve(user: str) -> None:
        barrier.wait()
        click(bot, user, "pam_approve", ref)

    threads = [threading.Thread(target=approve, args=(u,)) for u in (APPROVER, APPROVER_2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wait_status(bot, ref, "granted")
    time.sleep(0.5)
    assert len(bot.sessions()) == 1
    target_hops = [h for h in bot.aws.sandbox.assume_role_calls()[calls_before:]
                   if h.params.get("RoleSessionName", "").startswith("alice@example.com+S-")]
    assert len(target_hops) == 2  # one chain: resource role, then target role


def test_n_of_m_needs_distinct_approvers(bot: Bot) -> None:
    bot.add_account(approvals_required=2)
    ref = ask(bot)
    click(bot, APPROVER, "pam_approve", ref)
    bot.slack.wait_for("chat.update", lambda c: "1 of 2" in json.dumps(c.args))
    assert bot.requests()[-1].status == "pending"
    click(bot, APPROVER, "pam_approve", ref)
    wait_ephemeral(bot.slack, "already")
    assert bot.requests()[-1].status == "pending"
    click(bot, APPROVER_2, "pam_approve", ref)
    wait_status(bot, ref, "granted")
    wait_dm(bot.slack, REQUESTER, "Open AWS Console")


def test_one_approvers_double_click_counts_once(bot: Bot) -> None:
    # Both clicks reach workers at once: the request's row lock queues the second, which finds the first's decision.
    bot.add_account(approvals_required=2)
    ref = ask(bot)
    barrier = threading.Barrier(2)

    def approve() -> None:
        barrier.wait()
        click(bot, APPROVER, "pam_approve", ref)

    threads = [threading.Thread(target=approve) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wait_ephemeral(bot.slack, "already")
    bot.settle()
    assert bot.requests()[-1].status == "pending"
    with bot.db() as session:
        assert session.scalar(select(func.count()).select_from(Decision)) == 1


def test_deny_with_reason_tells_the_requester(bot: Bot) -> None:
    bot.add_account()
    ref = ask(bot)
    click(bot, APPROVER, "pam_deny", ref)
    opened = bot.slack.wait_for("views.open")
    view = opened.args["view"]
    view = json.loads(view) if isinstance(view, str) else view
    response = bot.driver.submit_view(APPROVER, view["callback_id"], {"reason": {"value": plain_text_value("not during the freeze")}},
                                      private_metadata=view["private_metadata"])
    assert response.status == 200
    wait_status(bot, ref, "denied")
    dm = wait_dm(bot.slack, REQUESTER, "denied")
    assert "not during the freeze" in json.dumps(dm)
    assert not has_buttons(bot.card())
    assert not bot.sessions()


def test_wrong_external_id_fails_clearly_without_a_link(bot: Bot) -> None:
    resource_arn = bot.aws.resource_role()
    bot.container.services.admin.save_resource(actor=ADMIN, name="prod-aws", role_arn=resource_arn)
    bot.accounts["prod-aws"] = resource_arn
    target = bot.aws.target_role(resource_arn)
    bot.add_account(role_arn=target)
    bot.aws.sandbox.iam().update_assume_role_policy(
        RoleName=target.rsplit("/", 1)[-1],
        PolicyDocument=json.dumps(trusted_by(resource_arn, "some-other-installation")))
    ref = ask(bot)
    click(bot, APPROVER, "pam_approve", ref)
    wait_status(bot, ref, "failed")
    dm = wait_dm(bot.slack, REQUESTER, "could not be created")
    assert "ExternalId" in json.dumps(dm) or "trust policy" in json.dumps(dm)
    assert not bot.sessions()
    assert bot.requests()[-1].failure_code == "AccessDenied"
    failed = [e for e in bot.audit("session.grant") if e.outcome == "failed"]
    assert failed and failed[-1].details["aws_code"] == "AccessDenied"
    assert "federation" not in bot.everything_slack_saw()
    assert "failed" in json.dumps(bot.card()).lower()


def test_unknown_names_list_what_exists(bot: Bot) -> None:
    bot.add_account()
    bot.add_account(name="admin")
    bot.driver.command(REQUESTER, "access prod-aws readonli")
    text = wait_ephemeral(bot.slack, "There is no account")
    assert text.index("prod-aws/readonly") < text.index("prod-aws/admin")
    assert not bot.requests()


def test_every_bad_duration_is_refused_with_the_range(bot: Bot) -> None:
    bot.add_account(duration="30m")
    for bad in ("2h", "5m", "-5m", "15", "0m", "45m"):
        seen = len(bot.slack.calls_to("response_url"))
        bot.driver.command(REQUESTER, f"access prod-aws readonly {bad} reason")
        bot.slack.wait_for("response_url", lambda c, seen=seen: len(bot.slack.calls_to("response_url")) > seen)
        text = json.dumps(bot.slack.calls_to("response_url")[-1].args)
        assert "15m" in text or "at most 30m" in text, (bad, text)
    assert not bot.requests()
    assert len([e for e in bot.audit("request.create") if e.outcome == "refused"]) == 6


def test_reason_is_escaped_on_the_card(bot: Bot) -> None:
    bot.add_account()
    ask(bot, "access prod-aws readonly 30m <!channel> see <https://evil.example|click> & more")
    text = json.dumps(bot.card())
    assert "<!channel>" not in text and "<https://evil.example|click>" not in text
    assert "&lt;!channel&gt;" in text and "&amp; more" in text


def test_bad_signature_gets_401(bot: Bot) -> None:
    body = b"token=x&team_id=T0PAM&user_id=UREQUESTER&command=%2Fpam&text=list&trigger_id=1"
    response = bot.driver.post_raw(body, "application/x-www-form-urlencoded", secret="wrong-secret")
    assert response.status == 401
    stale = bot.driver.post_raw(body, "application/x-www-form-urlencoded", timestamp=int(time.time()) - 400)
    assert stale.status == 401


def test_slack_rate_limit_once_still_posts_the_card(bot: Bot) -> None:
    bot.add_account()
    bot.slack.fail_next("chat.postMessage", status=429, retry_after=0)
    ask(bot)
    posts = bot.slack.calls_to("chat.postMessage")
    assert [p.http_status for p in posts[:2]] == [429, 200]
    assert has_buttons(bot.card())


def test_second_pending_request_points_to_the_first(bot: Bot) -> None:
    bot.add_account()
    ref = ask(bot)
    bot.driver.command(REQUESTER, "access prod-aws readonly")
    text = wait_ephemeral(bot.slack, "already have")
    assert ref in text
    assert len(bot.requests()) == 1


def test_cancel_own_request(bot: Bot) -> None:
    bot.add_account()
    ref = ask(bot)
    bot.driver.command(OUTSIDER, f"cancel {ref}")
    wait_ephemeral(bot.slack, "no request")
    bot.driver.command(REQUESTER, f"cancel {ref}")
    wait_ephemeral(bot.slack, "cancelled")
    assert bot.requests()[-1].status == "cancelled"
    assert not has_buttons(bot.card())


def test_required_reason_opens_a_modal_that_creates_the_request(bot: Bot) -> None:
    bot.add_account(require_reason=True)
    bot.driver.command(REQUESTER, "access prod-aws readonly 30m")
    opened = bot.slack.wait_for("views.open")
    assert opened.ok
    assert not bot.requests()
    view = opened.args["view"]
    view = json.loads(view) if isinstance(view, str) else view
    from sandbox.slack_payloads import static_select
    response = bot.driver.submit_view(REQUESTER, view["callback_id"], {
        "account": {"value": static_select("prod-aws/readonly")},
        "duration": {"value": plain_text_value("30m")},
        "reason": {"value": plain_text_value("INC-7 needs a look")},
    })
    assert response.status == 200
    bot.slack.wait_for("chat.postMessage", lambda c: c.args.get("channel") == CHANNEL)
    assert bot.requests()[-1].reason == "INC-7 needs a look"


def test_list_shows_accounts_and_who_approves(bot: Bot) -> None:
    bot.add_account(description="Read-only for on-call")
    bot.driver.command(REQUESTER, "list")
    text = wait_ephemeral(bot.slack, "prod-aws")
    assert "Read-only for on-call" in text and f"<@{APPROVER}>" in text and "1h" in text


def test_the_request_form_asks_slack_about_the_requester_once(bot: Bot) -> None:
    """The web path checks the form (field errors need the person: guest? time zone?) and the worker creates the
    request from that same answer. The member check of `help`, the form's and the ask's share one users.info."""
    bot.add_account()
    bot.driver.command(REQUESTER, "help")  # the worker's installation guard looks the person up once, then remembers
    wait_ephemeral(bot.slack, "/pam access")
    seen = 0
    response = bot.driver.submit_view(REQUESTER, "pam_request_modal", {
        "account": {"value": static_select("prod-aws/readonly")}, "duration": {"value": plain_text_value("30m")},
        "reason": {"value": plain_text_value("INC-42")}})
    assert response.status == 200 and not response.body.strip()
    bot.slack.wait_for("chat.postMessage", lambda c: "is waiting for approval" in json.dumps(c.args))
    bot.settle()
    asked = [c for c in bot.slack.calls[seen:] if c.method == "users.info" and c.args.get("user") == REQUESTER]
    assert len(asked) == 1, [c.describe() for c in asked]
    request = bot.requests()[-1]
    assert request.status == "pending" and request.reason == "INC-42"
