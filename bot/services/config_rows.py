"""Writing configuration rows inside an open transaction, each change audited: shared by the admin use-cases
and `apply`."""

from __future__ import annotations

from typing import Any

from bot.domain.durations import format_duration
from bot.services.account_spec import AccountSpec, CheckedAccount, fill
from bot.services.base import Tx
from storage.models import Account, Admin, Resource


def write_resource(tx: Tx, *, actor: str, row: Resource | None, name: str, arn: str, description: str,
                   source_identity: bool, **details: Any) -> Resource:
    """Create (`row` None) or change a resource."""
    replaced = row is not None
    if row is None:
        row = Resource(name=name, created_by=actor, created_at=tx.now)
        tx.session.add(row)
    row.role_arn, row.description, row.updated_at = arn, description.strip(), tx.now
    row.source_identity = source_identity
    tx.session.flush()
    tx.audit(actor, "resource.save", name, role_arn=arn, replaced=replaced, source_identity=source_identity,
             **details)
    return row


def write_account(tx: Tx, *, actor: str, resource: Resource, row: Account | None, spec: AccountSpec,
                  checked: CheckedAccount, **details: Any) -> Account:
    """Create (`row` None) or change an account of `resource`."""
    replaced = row is not None
    if row is None:
        row = Account(resource_id=resource.id, created_by=actor, created_at=tx.now)
    fill(row, spec, checked)
    row.updated_at = tx.now
    tx.session.add(row)
    tx.session.flush()
    policy, requesters = checked.policy, checked.requesters
    tx.audit(actor, "account.save", f"{resource.name}/{row.name}", role_arn=checked.arn,
             duration=format_duration(checked.duration), approvers=sorted(policy.approver_ids),
             approver_group=policy.approver_group, approvals_required=policy.approvals_required,
             auto_approve=policy.auto_approve,
             requesters="everyone" if requesters.everyone else sorted(requesters.user_ids),
             requester_group=requesters.group, break_glass=spec.break_glass, replaced=replaced, **details)
    return row


def delete_account(tx: Tx, *, actor: str, resource: str, row: Account, **details: Any) -> int:
    """Remove an account, cancelling its open requests; return how many active sessions it had."""
    target = f"{resource}/{row.name}"
    active = sum(1 for s in tx.sessions.active(limit=10_000) if s.account_id == row.id)
    cancelled = tx.requests.cancel_pending_for([row.id], tx.now, f"the account {target} was removed")
    tx.config.delete(row)
    tx.audit(actor, "account.remove", target, active_sessions=active, requests_cancelled=cancelled, **details)
    return active


def delete_resource(tx: Tx, *, actor: str, row: Resource, **details: Any) -> int:
    """Remove a resource with its accounts, cancelling their open requests; return how many accounts went."""
    removed = [account for _, account in tx.config.accounts(row.name)]
    cancelled = tx.requests.cancel_pending_for([a.id for a in removed], tx.now,
                                               f"the resource {row.name} was removed")
    tx.config.delete(row)
    tx.audit(actor, "resource.remove", row.name, accounts_removed=len(removed), requests_cancelled=cancelled,
             **details)
    return len(removed)


def set_admin(tx: Tx, *, actor: str, user_id: str, admin: bool, **details: Any) -> None:
    """Add or remove an admin stored in the database."""
    row = tx.config.admin(user_id)
    if admin and row is None:
        tx.config.add(Admin(user_id=user_id, added_by=actor, added_at=tx.now))
    elif not admin and row is not None:
        tx.config.delete(row)
    tx.audit(actor, "admin.add" if admin else "admin.remove", user_id, **details)
