"""Every action id, callback id and block id the bot uses, in one place."""

from __future__ import annotations

import re
from enum import StrEnum


class Action(StrEnum):
    """Button and select action ids."""

    APPROVE = "pam_approve"
    DENY = "pam_deny"
    CANCEL = "pam_cancel"
    OPEN_CONSOLE = "pam_open_console"
    NEW_LINK = "pam_new_link"
    DONE = "pam_done"
    REQUEST_AGAIN = "pam_request_again"
    EXTEND = "pam_extend"
    OPEN_REQUEST = "pam_open_request"
    OPEN_ADMIN = "pam_open_admin"
    ADMIN_ADD_RESOURCE = "pam_admin_add_resource"
    ADMIN_ADD_ACCOUNT = "pam_admin_add_account"
    ADMIN_EDIT_RESOURCE = "pam_admin_edit_resource"
    ADMIN_EDIT_ACCOUNT = "pam_admin_edit_account"
    ADMIN_REMOVE_RESOURCE = "pam_admin_remove_resource"
    ADMIN_REMOVE_ACCOUNT = "pam_admin_remove_account"
    ADMIN_CHECK = "pam_admin_check"
    ADMIN_MANAGE_ADMINS = "pam_admin_manage_admins"
    ADMIN_SETUP = "pam_admin_setup"
    AUDIT_MORE = "pam_audit_more"
    BREAK_GLASS_REVIEWED = "pam_break_glass_reviewed"
    BREAK_GLASS_FLAG = "pam_break_glass_flag"


class View(StrEnum):
    """Modal callback ids."""

    REQUEST = "pam_request_modal"
    DENY = "pam_deny_modal"
    RESOURCE = "pam_resource_modal"
    ACCOUNT = "pam_account_modal"
    CONFIRM_REMOVE = "pam_confirm_remove_modal"
    ADMINS = "pam_admins_modal"
    ADMIN = "pam_admin_modal"
    SETUP = "pam_setup_modal"
    CHECK = "pam_check_modal"
    NOTICE = "pam_notice_modal"


class Block(StrEnum):
    """Input block ids; each matches the field name services put on their errors."""

    RESOURCE = "resource"
    ACCOUNT = "account"
    DURATION = "duration"
    REASON = "reason"
    START = "start"
    URGENCY = "urgency"
    NAME = "name"
    ROLE_ARN = "role_arn"
    DESCRIPTION = "description"
    APPROVERS = "approvers"
    APPROVER_GROUP = "approver_group"
    REQUESTERS = "requesters"
    REQUESTER_GROUP = "requester_group"
    ESCALATE_TO = "escalate_to"
    MAX_EXTENSIONS = "max_extensions"
    APPROVALS_REQUIRED = "approvals_required"
    CHANNEL = "approval_channel"
    OPTIONS = "options"
    DAILY_LIMIT = "auto_approve_daily_limit"
    ADMINS = "admins"
    ACTIONS = "actions"


VALUE = "value"  # the action id of every input element: state.values[block][VALUE]


def other_than(known: type[StrEnum]) -> re.Pattern[str]:
    """Matches any id except the known ones: a fallback listener never takes a click meant for a known one."""
    return re.compile(rf"^(?!(?:{'|'.join(re.escape(k.value) for k in known)})$)")
