"""Read models mirror their tables column for column and copy a row once: later changes to the row do not leak."""

from __future__ import annotations

from dataclasses import fields
from datetime import UTC, datetime

import pytest

from bot.services.read_models import AccountRead, AuditRead, DecisionRead, RequestRead, ResourceRead, SessionRead
from storage.models import AccessRequest, AccessSession, Account, AuditEvent, Base, Decision, Resource

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PAIRS: list[tuple[type, type[Base]]] = [(ResourceRead, Resource), (AccountRead, Account), (RequestRead, AccessRequest),
                                       (DecisionRead, Decision), (SessionRead, AccessSession),
                                       (AuditRead, AuditEvent)]


@pytest.mark.parametrize(("read", "model"), PAIRS, ids=[read.__name__ for read, _ in PAIRS])
def test_a_read_model_has_the_columns_of_its_table(read: type, model: type[Base]) -> None:
    """Code reading a view reads it by the column names; a new column shows up here until the read model has it."""
    columns = list(model.__table__.columns.keys())
    assert [f.name for f in fields(read)] == columns


def test_of_copies_the_row_and_keeps_nothing_of_it() -> None:
    row = AccessRequest(id=7, ref="R-ABC123", requester_id="UREQ", team_id="T0PAM", account_id=3,
                        resource_name="prod-aws", account_name="readonly", resource_role_arn="arn:r",
                        target_role_arn="arn:t", duration_seconds=1800, reason="INC-42", status="pending",
                        approvals_required=1, auto_approved=False, created_at=NOW, updated_at=NOW, decided_at=None,
                        reminded_at=None, reminders_sent=0, starts_at=None, extends=None, grant_attempts=0,
                        notice_failures=0, cards=[{"channel": "C1", "ts": "1.0"}], failure_code=None,
                        failure_message=None, break_glass=False, review=None, reviewed_by=None, reviewed_at=None)
    read = RequestRead.of(row)
    assert (read.id, read.ref, read.status, read.cards) == (7, "R-ABC123", "pending", ({"channel": "C1", "ts": "1.0"},))
    row.status = "granted"
    row.cards[0]["ts"] = "2.0"
    row.cards.append({"channel": "C2", "ts": "3.0"})
    assert read.status == "pending" and read.cards == ({"channel": "C1", "ts": "1.0"},)


def test_json_columns_become_tuples_and_empty_ones_empty_tuples() -> None:
    account = Account(id=1, resource_id=1, name="readonly", role_arn="arn:t", description="",
                      default_duration_seconds=1800, approver_ids=["U2", "U1"], approver_group=None,
                      approvals_required=1, approval_channel=None, auto_approve=False, auto_approve_daily_limit=None,
                      require_reason=False, revocation_enabled=False, requesters_everyone=False, requester_ids=None,
                      requester_group=None, break_glass=False, escalate_to=None, max_extensions=0,
                      extend_without_approval=False, created_by="U", created_at=NOW, updated_at=NOW)
    read = AccountRead.of(account)
    assert (read.approver_ids, read.requester_ids) == (("U2", "U1"), ())
    event = AuditEvent(id=1, at=NOW, actor="U", action="a", target="", outcome="ok", details={"k": "v"},
                       prev_hash="0", hash="1", scheme="sha256")
    copied = AuditRead.of(event)
    event.details["k"] = "changed"
    assert copied.details == {"k": "v"}
