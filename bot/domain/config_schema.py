"""The JSON Schema of pam-bot's configuration file (`pam-bot schema` prints it; `apply` validates against it)."""

from __future__ import annotations

from typing import Any

from bot.domain.slack_ids import CHANNEL_PATTERN, GROUP_PATTERN, USER_PATTERN

VERSION = 1
NAME = "^[a-z0-9][a-z0-9_-]{0,31}$"
ROLE_ARN = "^arn:aws(-[a-z]+)*:iam::[0-9]{12}:role/[\\w+=,.@/-]{1,512}$"
_USER = {"type": "string", "pattern": USER_PATTERN, "description": "a Slack user id (U… or W…)"}
_GROUP = {"type": "string", "pattern": GROUP_PATTERN, "description": "a Slack user group id (S…)"}
_CHANNEL = {"type": "string", "pattern": CHANNEL_PATTERN, "description": "a Slack channel id (C… or G…)"}
_USERS = {"type": "array", "items": _USER, "uniqueItems": True}

ACCOUNT: dict[str, Any] = {
    "type": "object",
    "description": "A Target Role people get in the console. Options left out take their defaults.",
    "additionalProperties": False,
    "required": ["name", "role_arn", "duration"],
    "anyOf": [{"required": ["requesters"]}, {"required": ["requester_group"]}],
    "properties": {
        "name": {"type": "string", "pattern": NAME},
        "role_arn": {"type": "string", "pattern": ROLE_ARN, "description": "the Target Role"},
        "description": {"type": "string", "maxLength": 300, "default": ""},
        "duration": {"type": "string", "minLength": 1, "maxLength": 16,
                     "description": "default and longest session, 15m..1h (e.g. 30m)"},
        "requesters": {"description": "who may ask: `everyone`, or Slack user ids",
                       "oneOf": [{"const": "everyone"}, {**_USERS, "minItems": 1}]},
        "requester_group": {**_GROUP, "description": "a Slack user group whose members may ask"},
        "approvers": {**_USERS, "description": "Slack user ids who approve (not with approver_group)"},
        "approver_group": {**_GROUP, "description": "a Slack user group whose members approve (not with approvers)"},
        "approvals_required": {"type": "integer", "minimum": 1, "maximum": 50, "default": 1},
        "channel": {**_CHANNEL, "description": "where approval cards go (default: PAM_APPROVAL_CHANNEL, else DMs)"},
        "auto_approve": {"type": "boolean", "default": False},
        "auto_approve_daily_limit": {"type": "integer", "minimum": 1, "maximum": 1000,
                                     "description": "auto-approvals per person per day (default: no limit)"},
        "require_reason": {"type": "boolean", "default": False},
        "revocation": {"type": "boolean", "default": False,
                       "description": "revoking cuts the session in AWS (needs iam:PutRolePolicy on the role)"},
        "break_glass": {"type": "boolean", "default": False,
                        "description": "allow /pam break-glass: access at once, loud, reviewed afterwards"},
        "max_extensions": {"type": "integer", "minimum": 0, "maximum": 10, "default": 0,
                           "description": "how many times a session may be extended (a new grant each time)"},
        "extend_without_approval": {"type": "boolean", "default": False,
                                    "description": "extensions are granted at once, not approved again"},
        "escalate_to": {"type": "string", "pattern": "^[CGS][A-Z0-9]{2,31}$",
                        "description": "channel or user group the last reminder of a pending request wakes"},
    },
}

RESOURCE: dict[str, Any] = {
    "type": "object",
    "description": "An AWS account reached through its Resource Role.",
    "additionalProperties": False,
    "required": ["name", "role_arn"],
    "properties": {
        "name": {"type": "string", "pattern": NAME},
        "role_arn": {"type": "string", "pattern": ROLE_ARN, "description": "the Resource Role"},
        "description": {"type": "string", "maxLength": 300, "default": ""},
        "source_identity": {"type": "boolean", "default": False,
                            "description": "set SourceIdentity to the person on both hops"},
        "accounts": {"type": "array", "items": ACCOUNT, "default": []},
    },
}

SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "pam-bot configuration",
    "description": "Resources, accounts and admins of one pam-bot installation (`pam-bot apply -f FILE`).",
    "type": "object",
    "additionalProperties": False,
    "required": ["version"],
    "properties": {
        "$schema": {"type": "string"},
        "version": {"const": VERSION},
        "admins": {**_USERS, "description": "admins stored in the database (PAM_ADMINS are admins anyway)"},
        "resources": {"type": "array", "items": RESOURCE, "default": []},
    },
}
