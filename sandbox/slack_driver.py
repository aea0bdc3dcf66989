"""Plays Slack's part towards the bot: signed slash commands, clicks, view submissions and events over HTTP."""

from __future__ import annotations

import copy
import itertools
import json
import secrets
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from sandbox import slack_payloads as payloads
from sandbox import slack_signed
from sandbox.slack_api import SlackApiStandIn
from sandbox.slack_payloads import (
    checkboxes,
    conversations_select,
    plain_text_value,
    radio_buttons,
    static_select,
    users_select,
)
from sandbox.slack_signed import Response

__all__ = ["Response", "SlackDriver", "checkboxes", "conversations_select", "plain_text_value", "radio_buttons",
           "static_select", "users_select"]

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
UNREACHABLE = "http://127.0.0.1:9/response"  # without a stand-in, respond() must fail locally, never reach Slack


class SlackDriver:
    """Builds Slack-shaped requests, signs them (v0 HMAC) and POSTs them to `bot_url` (e.g. `.../slack/events`).

    It never waits for the bot's background work: assert on the stand-in with `api.wait_for(...)`.
    """

    plain_text_value = staticmethod(plain_text_value)
    static_select = staticmethod(static_select)
    users_select = staticmethod(users_select)
    conversations_select = staticmethod(conversations_select)
    checkboxes = staticmethod(checkboxes)
    radio_buttons = staticmethod(radio_buttons)

    def __init__(self, bot_url: str, signing_secret: str, *, api: SlackApiStandIn | None = None,
                 team_id: str = "T0PAM", api_app_id: str = "A0PAMBOT", clock: Callable[[], float] = time.time,
                 timeout: float = 10.0) -> None:
        self.bot_url, self.signing_secret, self.team_id, self.api_app_id = bot_url, signing_secret, team_id, api_app_id
        self._api, self._clock, self._timeout = api, clock, timeout
        self._seq = itertools.count(1)

    def command(self, user_id: str, text: str, *, command: str = "/pam", channel_id: str = "C0GENERAL") -> Response:
        fields = payloads.slash_command(
            user=self._user(user_id), command=command, text=text, channel_id=channel_id, team_id=self.team_id,
            api_app_id=self.api_app_id, response_url=self._response_url("command"), trigger_id=self._trigger_id())
        return self._send(urlencode(fields).encode(), FORM, trigger_id=fields["trigger_id"],
                          response_url=fields["response_url"])

    def click(self, user_id: str, action_id: str, value: str, *, channel_id: str | None = None,
              message_ts: str | None = None, block_id: str | None = None, message: dict[str, Any] | None = None,
              view: dict[str, Any] | None = None) -> Response:
        """A button click in a message (channel_id + message_ts) or, with `view`, inside a modal or Home tab.

        Without `message`, the stand-in's stored message is used, so the payload carries the real blocks.
        `block_id` defaults to the block holding `action_id`, else "b".
        """
        payload = self._interaction("block_actions", user_id)
        if view is not None:
            payload.update(container={"type": "view", "view_id": view.get("id")}, view=view)
        else:
            self._in_message(payload, channel_id, message_ts, message)
        found = payloads.find_element((view or payload["message"]).get("blocks") or [], action_id)
        block, element = found if found else ("b", None)
        action = payloads.button_action(action_id, value, block_id or block or "b", element, self._clock())
        payload["actions"] = [action]
        return self._send_payload(payload)

    def submit_view(self, user_id: str, callback_id: str, values: dict[str, dict[str, dict[str, Any]]], *,
                    private_metadata: str | None = None, view_id: str | None = None) -> Response:
        """A modal submission; `values` is `state.values` ({block_id: {action_id: element state}}).

        A view the stand-in opened (by `view_id`) is echoed with its blocks, hash and private_metadata,
        unless `private_metadata` is given.
        """
        stored = self._api.views.get(view_id) if self._api is not None and view_id else None
        view = stored or payloads.modal_view(view_id or f"V{secrets.token_hex(4).upper()}", callback_id=callback_id,
                                             team_id=self.team_id, api_app_id=self.api_app_id)
        view.update(callback_id=callback_id, state={"values": copy.deepcopy(values)})
        if private_metadata is not None:
            view["private_metadata"] = private_metadata
        payload = self._interaction("view_submission", user_id)
        payload.update(view=view, response_urls=[])
        return self._send_payload(payload)

    def app_home_opened(self, user_id: str) -> Response:
        api = self._api
        body = payloads.app_home_opened(
            user_id=user_id, team_id=self.team_id, api_app_id=self.api_app_id,
            bot_user_id=api.bot_user_id if api else "U0PAMBOT",
            view=api.published_views.get(user_id) if api else None, now=self._clock())
        return self._send(json.dumps(body).encode(), JSON)

    def post_raw(self, body: bytes, content_type: str, *, secret: str | None = None,
                 timestamp: int | str | None = None, signed: bool = True) -> Response:
        """Any body, signed with `secret` (default: the real one) at `timestamp` (default: now), or unsigned."""
        return self._send(body, content_type, secret=secret, timestamp=timestamp, signed=signed)

    # --- helpers ------------------------------------------------------------------------------------------
    def _user(self, user_id: str) -> dict[str, Any]:
        known = self._api.user(user_id) if self._api is not None else None
        return payloads.user_object(user_id, known["name"] if known else user_id.lower(), self.team_id)

    def _trigger_id(self) -> str:
        if self._api is not None:
            return self._api.issue_trigger_id()
        return f"{next(self._seq)}.{self.team_id}.{secrets.token_hex(8)}"

    def _response_url(self, kind: str) -> str:
        key = f"{kind}-{next(self._seq)}-{secrets.token_hex(4)}"
        return self._api.response_url_for(key) if self._api is not None else f"{UNREACHABLE}/{key}"

    def _interaction(self, kind: str, user_id: str) -> dict[str, Any]:
        return {"type": kind, "user": self._user(user_id), "api_app_id": self.api_app_id,
                "token": payloads.VERIFICATION_TOKEN, "trigger_id": self._trigger_id(),
                "team": payloads.team_object(self.team_id), "enterprise": None, "is_enterprise_install": False}

    def _in_message(self, payload: dict[str, Any], channel_id: str | None, message_ts: str | None,
                    message: dict[str, Any] | None) -> None:
        if channel_id is None or message_ts is None:
            raise ValueError("a message click needs channel_id and message_ts (or pass view=...)")
        if message is None and self._api is not None:
            message = self._api.message(channel_id, message_ts)
        message = {k: v for k, v in (message or {"type": "message", "ts": message_ts, "text": "", "blocks": []})
                   .items() if k != "channel"}
        payload.update(
            container={"type": "message", "message_ts": message_ts, "channel_id": channel_id, "is_ephemeral": False},
            channel={"id": channel_id, "name": channel_id.lower()}, message=message, state={"values": {}},
            response_url=self._response_url("action"))

    def _send_payload(self, payload: dict[str, Any]) -> Response:
        body = urlencode({"payload": json.dumps(payload)}).encode()
        return self._send(body, FORM, trigger_id=payload["trigger_id"], response_url=payload.get("response_url"))

    def _send(self, body: bytes, content_type: str, *, secret: str | None = None, timestamp: int | str | None = None,
              signed: bool = True, trigger_id: str | None = None, response_url: str | None = None) -> Response:
        return slack_signed.post(
            self.bot_url, body, content_type, secret=(secret or self.signing_secret) if signed else None,
            timestamp=int(self._clock()) if timestamp is None else timestamp, timeout=self._timeout,
            trigger_id=trigger_id, response_url=response_url)
