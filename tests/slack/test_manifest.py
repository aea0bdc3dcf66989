"""manifest.yml is a valid Slack app manifest and asks for exactly what the code uses."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).parents[2]
SCHEMA_COPY = Path(__file__).with_name("slack-manifest.schema.json")
SCHEMA_SHARED = Path(__file__).parents[3] / "shared/reference/slack-manifest.schema.json"
# Web API methods the bot may call, and the bot scope each needs (views.* need none).
SCOPES = {
    "chat.postMessage": "chat:write", "chat.postEphemeral": "chat:write", "chat.update": "chat:write",
    "conversations.open": "im:write", "users.info": "users:read", "usergroups.users.list": "usergroups:read",
    "conversations.info": ("channels:read", "groups:read"),  # doctor: is the bot in each (public/private) channel
    # the outbox: did a post whose answer was lost land after all (channels, private channels, DMs)
    "conversations.history": ("channels:history", "groups:history", "im:history"),
    "views.open": None, "views.push": None, "views.update": None, "views.publish": None,
}
_CALL = re.compile(r"client\.([a-z]+(?:_[A-Za-z]+)+)\(")
_EVENT = re.compile(r"""app\.event\(["']([a-z_]+)["']\)""")


def schema() -> dict[str, Any]:
    path = SCHEMA_COPY if SCHEMA_COPY.exists() else SCHEMA_SHARED
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "manifest.yml").read_text(encoding="utf-8"))


def sources() -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in sorted((ROOT / "bot").rglob("*.py"))
                     if "sandbox" not in p.parts)


def called_methods() -> set[str]:
    """`client.chat_postMessage(` → `chat.postMessage`, across the bot (the sandbox excluded)."""
    return {name.replace("_", ".") for name in _CALL.findall(sources())}


def test_the_copy_of_the_schema_matches_the_reference() -> None:
    if not SCHEMA_SHARED.exists():
        pytest.skip("the shared reference folder is not beside this checkout")
    assert json.loads(SCHEMA_COPY.read_text()) == json.loads(SCHEMA_SHARED.read_text())


def test_manifest_validates_against_slacks_schema(manifest: dict[str, Any]) -> None:
    jsonschema.validate(manifest, schema())


def test_the_validation_is_real(manifest: dict[str, Any]) -> None:
    broken = {**manifest, "features": {**manifest["features"], "slash_commands": [{"command": "pam"}]}}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema())


def test_scopes_are_exactly_what_the_code_calls(manifest: dict[str, Any]) -> None:
    methods = called_methods()
    assert {"chat.postMessage", "views.open", "users.info"} <= methods, methods
    unknown = methods - set(SCOPES)
    assert not unknown, f"add the scope these methods need to SCOPES and manifest.yml: {unknown}"
    needed = {scope for m in methods for scope in _scopes(SCOPES[m])} | {"commands"}
    if '"email"' in sources():  # role session names come from the profile email
        needed.add("users:read.email")
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == needed


def _scopes(scope: str | tuple[str, ...] | None) -> tuple[str, ...]:
    return () if scope is None else (scope,) if isinstance(scope, str) else scope


def test_events_are_exactly_what_the_code_listens_to(manifest: dict[str, Any]) -> None:
    listened = set(_EVENT.findall(sources()))
    assert listened == {"app_home_opened"}
    assert set(manifest["settings"]["event_subscriptions"]["bot_events"]) == listened


def test_command_interactivity_and_home(manifest: dict[str, Any]) -> None:
    features, settings = manifest["features"], manifest["settings"]
    assert [c["command"] for c in features["slash_commands"]] == ["/pam"]
    assert features["app_home"]["home_tab_enabled"] and features["app_home"]["messages_tab_enabled"]
    assert settings["interactivity"]["is_enabled"] is True
    assert settings["socket_mode_enabled"] is False
    urls = [features["slash_commands"][0]["url"], settings["interactivity"]["request_url"],
            settings["event_subscriptions"]["request_url"]]
    assert urls == ["https://pam.example.com/slack/events"] * 3


def test_the_command_asks_slack_to_escape_so_mentions_arrive_as_ids(manifest: dict[str, Any]) -> None:
    """With `should_escape: false` Slack sends `@alice` as plain text, which names no one the bot can look up."""
    (pam,) = manifest["features"]["slash_commands"]
    assert pam["should_escape"] is True
    jsonschema.validate(manifest, schema())
