"""The Slack Web API stand-in answers a real slack_sdk WebClient like Slack, and records every call."""

from __future__ import annotations

import json
import threading
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from sandbox.slack_api import SlackApiStandIn
from tests.fixtures_slack import SLACK_BOT_TOKEN

pytest_plugins = ["tests.fixtures_slack"]


def _error(call: Callable[[], Any]) -> str:
    with pytest.raises(SlackApiError) as caught:
        call()
    return str(caught.value.response["error"])


def test_base_url_points_at_api_path(slack_api: SlackApiStandIn) -> None:
    assert slack_api.base_url.startswith("http://127.0.0.1:")
    assert slack_api.base_url.endswith("/api/")


def test_auth_test_names_the_bot_and_team(slack_web_client: WebClient, slack_api: SlackApiStandIn) -> None:
    answer = slack_web_client.auth_test()
    assert (answer["team_id"], answer["user_id"]) == ("T0PAM", slack_api.bot_user_id)


def test_auth_test_names_the_enterprise_of_a_grid_installation() -> None:
    with SlackApiStandIn(SLACK_BOT_TOKEN, team_id="T0GRID", enterprise_id="E0ORG") as api:
        answer = WebClient(token=SLACK_BOT_TOKEN, base_url=api.base_url).auth_test()
    assert (answer["team_id"], answer["enterprise_id"], answer["is_enterprise_install"]) == ("T0GRID", "E0ORG", False)


def test_auth_test_of_a_plain_workspace_has_no_enterprise(slack_web_client: WebClient) -> None:
    assert slack_web_client.auth_test().get("enterprise_id") is None


def test_users_info_tells_strangers_and_other_teams_apart(slack_api: SlackApiStandIn,
                                                         slack_web_client: WebClient) -> None:
    slack_api.add_user("U1", name="alice", email="alice@example.com")
    slack_api.add_user("U2", name="sam", is_stranger=True, team_id="T0PARTNER")
    slack_api.add_user("U3", name="olga", team_id="T0OTHER")
    alice, sam, olga = (slack_web_client.users_info(user=u)["user"] for u in ("U1", "U2", "U3"))
    assert (alice["team_id"], alice.get("is_stranger", False)) == ("T0PAM", False)
    assert (sam["team_id"], sam["is_stranger"]) == ("T0PARTNER", True)
    assert "email" not in sam["profile"]  # Slack shows strangers a limited profile
    assert (olga["team_id"], olga.get("is_stranger", False)) == ("T0OTHER", False)


def test_another_token_is_refused(slack_api: SlackApiStandIn) -> None:
    client = WebClient(token="xoxb-someone-else", base_url=slack_api.base_url)
    assert _error(client.auth_test) == "invalid_auth"
    assert slack_api.calls_to("auth.test")[0].error == "invalid_auth"


def test_missing_token_is_not_authed(slack_api: SlackApiStandIn) -> None:
    assert _error(lambda: WebClient(base_url=slack_api.base_url).auth_test()) == "not_authed"


def test_unknown_method(slack_web_client: WebClient) -> None:
    assert _error(lambda: slack_web_client.api_call("chat.scheduleMessage", json={"channel": "C1"})) == "unknown_method"


def test_form_encoded_body_and_token_parameter_are_accepted(slack_api: SlackApiStandIn) -> None:
    slack_api.add_channel("C1")
    body = f"token={SLACK_BOT_TOKEN}&channel=C1&text=hello&blocks=%5B%5D".encode()
    request = urllib.request.Request(f"{slack_api.base_url}chat.postMessage", data=body, method="POST")
    with urllib.request.urlopen(request) as answer:
        assert json.loads(answer.read())["ok"] is True
    call = slack_api.calls_to("chat.postMessage")[0]
    assert call.args == {"channel": "C1", "text": "hello", "blocks": []}  # token never recorded


def test_users_info_has_profile_email_and_flags(slack_api: SlackApiStandIn, slack_web_client: WebClient) -> None:
    slack_api.add_user("U1", name="alice", email="alice@example.com", is_ultra_restricted=True, is_admin=True)
    user = slack_web_client.users_info(user="U1")["user"]
    assert user["profile"]["email"] == "alice@example.com"
    assert (user["is_bot"], user["deleted"], user["is_restricted"], user["is_ultra_restricted"]) == (
        False, False, False, True)
    assert (user["is_admin"], user["team_id"]) == (True, "T0PAM")
    assert _error(lambda: slack_web_client.users_info(user="U404")) == "user_not_found"


def test_lookup_by_email_ignores_case(slack_api: SlackApiStandIn, slack_web_client: WebClient) -> None:
    slack_api.add_user("U1", name="alice", email="Alice@Example.com")
    assert slack_web_client.users_lookupByEmail(email="alice@example.COM")["user"]["id"] == "U1"
    assert _error(lambda: slack_web_client.users_lookupByEmail(email="bob@example.com")) == "users_not_found"


def test_usergroup_members(slack_api: SlackApiStandIn, slack_web_client: WebClient) -> None:
    slack_api.add_usergroup("S1", ["U1", "U2"])
    assert slack_web_client.usergroups_users_list(usergroup="S1")["users"] == ["U1", "U2"]
    assert _error(lambda: slack_web_client.usergroups_users_list(usergroup="S9")) == "no_such_subteam"


def test_conversations_open_gives_dm_channel(slack_api: SlackApiStandIn, slack_web_client: WebClient) -> None:
    slack_api.add_user("U1", name="alice")
    slack_api.add_user("U2", name="gone", deleted=True)
    first = slack_web_client.conversations_open(users="U1")
    assert first["channel"]["id"] == "DU1" and first["already_open"] is False
    assert slack_web_client.conversations_open(users=["U1"])["already_open"] is True
    assert _error(lambda: slack_web_client.conversations_open(users="U2")) == "user_disabled"
    assert _error(lambda: slack_web_client.conversations_open(users="U404")) == "user_not_found"


def test_post_message_is_stored_and_answered_like_slack(slack_api: SlackApiStandIn,
                                                        slack_web_client: WebClient) -> None:
    slack_api.add_channel("C1", name="approvals")
    answer = slack_web_client.chat_postMessage(channel="#approvals", text="card", blocks=[
        {"type": "section", "text": {"type": "mrkdwn", "text": "*card*"}}])
    assert answer["channel"] == "C1" and answer["message"]["text"] == "card"
    assert float(answer["ts"]) > 0
    assert [m["ts"] for m in slack_api.messages("C1")] == [answer["ts"]]
    assert slack_api.messages("C2") == []


def test_unknown_channel_and_not_in_channel(slack_api: SlackApiStandIn, slack_web_client: WebClient) -> None:
    slack_api.add_channel("C2", is_member=False)
    assert _error(lambda: slack_web_client.chat_postMessage(channel="C404", text="x")) == "channel_not_found"
    assert _error(lambda: slack_web_client.chat_postMessage(channel="C2", text="x")) == "not_in_channel"


def test_dm_by_user_id_or_dm_channel(slack_api: SlackApiStandIn, slack_web_client: WebClient) -> None:
    slack_api.add_user("U1", name="alice")
    slack_api.add_user("U2", name="bob")
    slack_web_client.chat_postMessage(channel="U1", text="by user id")
    dm = slack_web_client.conversations_open(users="U1")["channel"]["id"]
    slack_web_client.chat_postMessage(channel=dm, text="by dm id")
    slack_web_client.chat_postMessage(channel="U2", text="for bob")
    assert [c.args["text"] for c in slack_api.dms_to("U1")] == ["by user id", "by dm id"]
    assert [m["text"] for m in slack_api.messages("DU1")] == ["by user id", "by dm id"]


def test_update_replaces_text_and_keeps_blocks_when_absent(slack_api: SlackApiStandIn,
                                                           slack_web_client: WebClient) -> None:
    slack_api.add_channel("C1")
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "pending"}}]
    ts = slack_web_client.chat_postMessage(channel="C1", text="pending", blocks=blocks)["ts"]
    slack_web_client.chat_update(channel="C1", ts=ts, text="approved")
    stored = slack_api.message("C1", ts)
    assert stored is not None and (stored["text"], stored["blocks"]) == ("approved", blocks)
    slack_web_client.chat_update(channel="C1", ts=ts, text="approved", blocks=[])
    assert slack_api.messages("C1")[0]["blocks"] == []
    assert _error(lambda: slack_web_client.chat_update(channel="C1", ts="1.000001", text="x")) == "message_not_found"


def test_history_finds_a_message_by_its_metadata_until_it_is_deleted(slack_api: SlackApiStandIn,
                                                                     slack_web_client: WebClient) -> None:
    slack_api.add_user("U1", name="alice")
    metadata = {"event_type": "pam_console_link", "event_payload": {"session": "S-1"}}
    ts = slack_web_client.chat_postMessage(channel="U1", text="link", metadata=metadata)["ts"]
    found = slack_web_client.conversations_history(channel="DU1", include_all_metadata=True)["messages"]
    assert [(m["ts"], m["metadata"]) for m in found] == [(ts, metadata)]
    assert "metadata" not in slack_web_client.conversations_history(channel="DU1")["messages"][0]
    slack_web_client.chat_delete(channel="DU1", ts=ts)
    assert slack_web_client.conversations_history(channel="DU1")["messages"] == []
    assert _error(lambda: slack_web_client.chat_delete(channel="DU1", ts=ts)) == "message_not_found"


def test_update_needs_the_dm_id_not_the_user_id(slack_api: SlackApiStandIn, slack_web_client: WebClient) -> None:
    slack_api.add_user("U1", name="alice")
    ts = slack_web_client.chat_postMessage(channel="U1", text="link")["ts"]
    assert _error(lambda: slack_web_client.chat_update(channel="U1", ts=ts, text="x")) == "channel_not_found"
    slack_web_client.chat_update(channel="DU1", ts=ts, text="expired")
    assert slack_api.messages("DU1")[0]["text"] == "expired"


def test_ephemeral_permalink_and_conversation_info(slack_api: SlackApiStandIn, slack_web_client: WebClient) -> None:
    slack_api.add_user("U1", name="alice")
    slack_api.add_channel("C1", name="approvals", is_private=True)
    slack_web_client.chat_postEphemeral(channel="C1", user="U1", text="only you")
    assert [c.args["text"] for c in slack_api.ephemerals_to("U1")] == ["only you"]
    ts = slack_web_client.chat_postMessage(channel="C1", text="card")["ts"]
    link = slack_web_client.chat_getPermalink(channel="C1", message_ts=ts)["permalink"]
    assert link.endswith(f"/archives/C1/p{ts.replace('.', '')}")
    info = slack_web_client.conversations_info(channel="C1")["channel"]
    assert (info["name"], info["is_private"], info["is_member"]) == ("approvals", True, True)
    assert _error(lambda: slack_web_client.conversations_info(channel="C404")) == "channel_not_found"
    # Slack hides a private channel from an app that is not in it; a public one it shows, with is_member false.
    slack_api.add_channel("G2", name="secret", is_private=True, is_member=False)
    slack_api.add_channel("C3", name="public", is_member=False)
    assert _error(lambda: slack_web_client.conversations_info(channel="G2")) == "channel_not_found"
    assert slack_web_client.conversations_info(channel="C3")["channel"]["is_member"] is False


def test_wait_for_sees_calls_from_other_threads(slack_api: SlackApiStandIn, slack_web_client: WebClient) -> None:
    slack_api.add_channel("C1")
    threading.Timer(0.1, lambda: slack_web_client.chat_postMessage(channel="C1", text="late")).start()
    call = slack_api.wait_for("chat.postMessage", lambda c: c.args.get("text") == "late", timeout=3)
    assert call.ok and call.http_status == 200 and call.at > 0


def test_wait_for_timeout_lists_what_was_seen(slack_api: SlackApiStandIn, slack_web_client: WebClient) -> None:
    slack_web_client.auth_test()
    with pytest.raises(TimeoutError) as caught:
        slack_api.wait_for("views.publish", timeout=0.1)
    assert "views.publish" in str(caught.value) and "auth.test() -> ok" in str(caught.value)


def test_response_url_posts_are_recorded(slack_api: SlackApiStandIn) -> None:
    url = slack_api.response_url_for("cmd-1")
    request = urllib.request.Request(url, data=b'{"text": "working on it"}', method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request) as answer:
        assert answer.status == 200
    assert [c.args for c in slack_api.responses_to("cmd-1")] == [{"text": "working on it"}]
    assert slack_api.responses_to(url) == slack_api.responses_to("cmd-1")


def test_reset_forgets_everything(slack_api: SlackApiStandIn, slack_web_client: WebClient) -> None:
    slack_api.add_user("U1", name="alice")
    slack_web_client.chat_postMessage(channel="U1", text="hi")
    slack_api.fail_next("auth.test", error="account_inactive")
    slack_api.reset()
    assert slack_api.calls == [] and slack_api.messages() == [] and slack_api.user("U1") is None
    assert slack_web_client.auth_test()["ok"] is True


def test_wait_for_predicate_that_does_not_fit_a_call_is_no_match(slack_api: SlackApiStandIn,
                                                                 slack_web_client: WebClient) -> None:
    slack_api.add_channel("C1")
    assert _error(lambda: slack_web_client.api_call("chat.postMessage", json={"channel": "C1"})) == "no_text"
    slack_web_client.chat_postMessage(channel="C1", text="second")
    assert slack_api.wait_for("chat.postMessage", lambda c: c.args["text"] == "second", timeout=1).ok


def test_concurrent_posts_get_distinct_timestamps(slack_api: SlackApiStandIn, slack_web_client: WebClient) -> None:
    slack_api.add_channel("C1")
    threads = [threading.Thread(target=slack_web_client.chat_postMessage, kwargs={"channel": "C1", "text": str(i)})
               for i in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(slack_api.calls_to("chat.postMessage")) == 20
    assert len({m["ts"] for m in slack_api.messages("C1")}) == 20
