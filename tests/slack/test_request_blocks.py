"""Renderers work from read-model literals alone: no database, no ORM row, and what they build fits Slack."""

from __future__ import annotations

import json
from dataclasses import FrozenInstanceError, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.services.audit import AuditPage
from bot.services.ports import RequestView
from bot.services.read_models import AccountRead, AuditRead, DecisionRead, RequestRead, ResourceRead, SessionRead
from bot.slack.audit_blocks import audit_message
from bot.slack.blocks import catalog_message, request_card
from bot.slack.break_glass_blocks import break_glass_card
from bot.slack.lifecycle_blocks import link_closed_message, sessions_message
from bot.slack.messages import console_link_message, expiry_warning_message, requester_notice
from bot.slack.modals import request_modal
from sandbox.slack_blocks import check_message_blocks, check_view

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TARGET = "arn:aws:iam::123456789012:role/pam-readonly"

REQUEST = RequestRead(
    id=7, ref="R-ABC123", requester_id="UREQUESTER", team_id="T0PAM", account_id=3, resource_name="prod-aws",
    account_name="readonly", resource_role_arn="arn:aws:iam::123456789012:role/pam-resource",
    target_role_arn=TARGET, duration_seconds=1800, reason="checking <!channel> & INC-42", status="pending",
    approvals_required=2, auto_approved=False, created_at=NOW, updated_at=NOW, decided_at=None, reminded_at=None,
    reminders_sent=0, starts_at=None, extends=None, grant_attempts=0, notice_failures=0,
    cards=({"channel": "CAPPROVALS", "ts": "1.000001"},), failure_code=None, failure_message=None,
    break_glass=False, review=None, reviewed_by=None, reviewed_at=None)
APPROVED = DecisionRead(id=1, request_id=7, approver_id="UAPPROVER1", team_id="T0PAM", verdict="approve", reason="",
                        created_at=NOW)
SESSION = SessionRead(
    id=5, ref="S-XYZ789", request_id=7, requester_id="UREQUESTER", account_id=3, resource_name="prod-aws",
    account_name="readonly", resource_role_arn=REQUEST.resource_role_arn, target_role_arn=TARGET,
    role_session_name="alice@example.com+S-XYZ789", assumed_role_arn=f"{TARGET}/alice", status="active",
    started_at=NOW, expires_at=NOW + timedelta(minutes=30), warned_at=None, ended_at=None, revoked_by=None,
    revocation_applied=False, continues=None, extension=0, notice_failures=0, revocation_enabled=False,
    aws_user_id=None, source_identity=None, revoke_attempts=0, revoke_due_at=None, revoke_error=None,
    link_channel=None, link_ts=None, link_lost_at=None)
RESOURCE = ResourceRead(id=1, name="prod-aws", role_arn=REQUEST.resource_role_arn, description="Production",
                        source_identity=False, created_by="UADMIN", created_at=NOW, updated_at=NOW)
ACCOUNT = AccountRead(
    id=3, resource_id=1, name="readonly", role_arn=TARGET, description="Read-only for on-call",
    default_duration_seconds=1800, approver_ids=("UAPPROVER1", "UAPPROVER2"), approver_group=None,
    approvals_required=2, approval_channel="CAPPROVALS", auto_approve=False, auto_approve_daily_limit=None,
    require_reason=True, revocation_enabled=False, requesters_everyone=True, requester_ids=(), requester_group=None,
    break_glass=True, escalate_to=None, max_extensions=1, extend_without_approval=False, created_by="UADMIN",
    created_at=NOW, updated_at=NOW)


def text_of(message: dict[str, Any]) -> str:
    return json.dumps(message, ensure_ascii=False)


def action_ids(message: dict[str, Any]) -> list[str]:
    return [e["action_id"] for b in message.get("blocks", []) for e in b.get("elements", []) if "action_id" in e]


def test_a_pending_card_from_a_read_model_has_the_buttons_and_escapes_the_reason() -> None:
    card = request_card(RequestView(REQUEST, decisions=(APPROVED,)))
    check_message_blocks(card["blocks"])
    text = text_of(card)
    assert "<@UREQUESTER> asks for `prod-aws/readonly`* (R-ABC123)" in text
    assert "&lt;!channel&gt; &amp; INC-42" in text and "<!channel>" not in text
    assert "Waiting for approval: 1 of 2" in text and "Approved by <@UAPPROVER1>" in text
    assert action_ids(card) == ["pam_approve", "pam_deny"]
    assert card["text"] == "Access request R-ABC123: <@UREQUESTER> asks for prod-aws/readonly (pending)"


def test_a_granted_card_shows_the_session_and_no_buttons() -> None:
    granted = RequestView(replace(REQUEST, status="granted"), decisions=(APPROVED,), session=SESSION)
    card = request_card(granted)
    check_message_blocks(card["blocks"])
    assert "🟢 Granted · session ends <!date^" in text_of(card) and action_ids(card) == []
    ended = request_card(replace(granted, session=replace(SESSION, status="revoked", ended_at=NOW)))
    assert "🛑 Session revoked" in text_of(ended)


def test_break_glass_card_and_the_grant_messages_from_read_models() -> None:
    view = RequestView(replace(REQUEST, status="granted", break_glass=True), session=SESSION,
                       approver_ids=frozenset({"UAPPROVER1"}), max_extensions=1)
    card = break_glass_card(view)
    check_message_blocks(card["blocks"])
    assert action_ids(card) == ["pam_break_glass_reviewed", "pam_break_glass_flag"]
    reviewed = break_glass_card(replace(view, request=replace(view.request, review="reviewed",
                                                              reviewed_by="UAPPROVER1", reviewed_at=NOW)))
    assert action_ids(reviewed) == [] and "Reviewed by <@UAPPROVER1>" in text_of(reviewed)
    link = console_link_message(view, "https://signin.example/federation?SigninToken=t")
    check_message_blocks(link["blocks"])
    assert "alice@example.com+S-XYZ789" in text_of(link)
    warning = expiry_warning_message(view)
    assert action_ids(warning) == ["pam_extend", "pam_request_again"]
    assert action_ids(expiry_warning_message(replace(view, session=replace(SESSION, extension=1)))) == \
        ["pam_request_again"]
    closed = link_closed_message(replace(view, session=replace(SESSION, revoked_by="UADMIN")))
    assert "<@UADMIN> revoked it" in closed["text"]


def test_requester_notice_names_the_deny_reasons() -> None:
    denied = DecisionRead(id=2, request_id=7, approver_id="UAPPROVER2", team_id="T0PAM", verdict="deny",
                          reason="not <now>", created_at=NOW)
    notice = requester_notice(RequestView(replace(REQUEST, status="denied"), decisions=(APPROVED, denied)), "denied")
    assert notice["text"] == ("⛔ Your request R-ABC123 for `prod-aws/readonly` was denied.\n"
                              "<@UAPPROVER2>: not &lt;now&gt;")


def test_lists_modals_and_the_audit_page_from_read_models() -> None:
    catalog = catalog_message([(RESOURCE, ACCOUNT)])
    check_message_blocks(catalog["blocks"])
    assert "approved by <@UAPPROVER1>, <@UAPPROVER2> (2 approvals needed)" in text_of(catalog)
    modal = request_modal([(RESOURCE, ACCOUNT)], selected="prod-aws/readonly")
    check_view(modal)
    assert '"value": "break_glass"' in text_of(modal) and '"value": "prod-aws/readonly"' in text_of(modal)
    listed = sessions_message([replace(SESSION, continues="S-OLD001")], everyone=True)
    check_message_blocks(listed["blocks"])
    assert "<@UREQUESTER> · `prod-aws/readonly` · S-XYZ789 (extends S-OLD001)" in text_of(listed)
    event = AuditRead(id=40, at=NOW, actor="UADMIN", action="session.revoke", target="S-XYZ789", outcome="ok",
                      details={"aws": "applied"}, prev_hash="0" * 64, hash="1" * 64, scheme="sha256")
    page = audit_message(AuditPage((event,), has_more=True))
    check_message_blocks(page["blocks"])
    assert "<@UADMIN> · *session.revoke* · `S-XYZ789` · ok" in text_of(page) and action_ids(page) == ["pam_audit_more"]


def test_read_models_are_frozen_values() -> None:
    with pytest.raises(FrozenInstanceError):
        REQUEST.status = "granted"  # type: ignore[misc]
    assert replace(REQUEST) == REQUEST
