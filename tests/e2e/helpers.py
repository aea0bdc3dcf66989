"""Small helpers for end-to-end tests: find the bot's answers among the stand-in's recorded calls."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any, TypeVar

from sandbox.slack_api import SlackApiStandIn

T = TypeVar("T")


def wait_for(check: Callable[[], T], what: str | Callable[[], str], timeout: float = 10.0,
             interval: float = 0.02) -> T:
    """Poll `check` until it returns something truthy and return that; fail naming `what` (a callable is
    asked only then, so it can say what was seen instead) after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out waiting for {what() if callable(what) else what}")
        time.sleep(interval)


def ephemeral_texts(slack: SlackApiStandIn) -> list[str]:
    """Every private answer: response_url posts and chat.postEphemeral calls, as text."""
    texts = [json.dumps(call.args) for call in slack.calls if call.method in ("response_url", "chat.postEphemeral")]
    return texts


def wait_ephemeral(slack: SlackApiStandIn, needle: str, timeout: float = 5.0) -> str:
    call = slack.wait_for("response_url", lambda c: needle in json.dumps(c.args), timeout=timeout)
    return json.dumps(call.args)


def wait_dm(slack: SlackApiStandIn, user_id: str, needle: str, timeout: float = 10.0) -> dict[str, Any]:
    """The first DM to `user_id` whose JSON contains `needle`."""
    channel = f"D{user_id}"
    call = slack.wait_for(
        "chat.postMessage",
        lambda c: c.args.get("channel") in (channel, user_id) and needle in json.dumps(c.args),
        timeout=timeout,
    )
    return call.args


def blocks_of(message: dict[str, Any]) -> list[dict[str, Any]]:
    blocks = message.get("blocks") or []
    return json.loads(blocks) if isinstance(blocks, str) else blocks


def has_buttons(message: dict[str, Any]) -> bool:
    return any(block.get("type") == "actions" for block in blocks_of(message))


def button_urls(message: dict[str, Any]) -> list[str]:
    return [element["url"] for block in blocks_of(message) if block.get("type") == "actions"
            for element in block.get("elements", []) if element.get("url")]
