"""Checking a chain: walk the events in id order, then hold the walk against the latest signed checkpoint."""

from __future__ import annotations

import hmac

from bot.domain.audit import GENESIS, KEYED, PLAIN, AuditKey, Checkpoint, Link, chain_hash


class ChainCheck:
    """Feed events oldest first with `add`; `finish` compares with the checkpoint. `reason` says what broke."""

    def __init__(self, key: AuditKey | None, checkpoint: Checkpoint | None = None) -> None:
        self.key = key
        self.checkpoint = checkpoint
        self.checked = 0
        self.keyed = 0
        self.last_id = 0
        self.last_hash = GENESIS
        self.broken_at: int | None = None
        self.reason = ""
        self._at_head: tuple[str, int] | None = None  # (hash, count) of the checkpoint's head event, once seen

    def add(self, link: Link) -> bool:
        """Check one event; False (and `broken_at`, `reason` set) at the first one that does not hold."""
        reason = self._problem(link)
        if reason:
            self.broken_at, self.reason = link.id, reason
            return False
        self.checked += 1
        self.keyed += link.scheme == KEYED
        self.last_id, self.last_hash = link.id, link.hash
        if self.checkpoint is not None and link.id == self.checkpoint.head_id:
            self._at_head = (link.hash, self.checked)
        return True

    def _problem(self, link: Link) -> str:
        if link.prev_hash != self.last_hash:
            return ("it does not link to the event before it: an event was removed or inserted, or a hash was "
                    "rewritten")
        if link.scheme == PLAIN and self.keyed:
            return "it is not keyed although events before it are: it was forged or written without PAM_AUDIT_KEY"
        if link.scheme == KEYED and self.key is None:
            return "it is keyed (HMAC-SHA256) and PAM_AUDIT_KEY is not set here: it cannot be checked"
        if link.scheme not in (PLAIN, KEYED):
            return f"it names an unknown scheme {link.scheme!r}"
        expected = chain_hash(link.prev_hash, link.at, link.entry, self.key if link.scheme == KEYED else None)
        if not hmac.compare_digest(expected, link.hash):
            if link.scheme == KEYED:
                return ("its content does not match its MAC: it was changed, or PAM_AUDIT_KEY is not the key "
                        "that wrote it")
            return "its content does not match its hash: it was changed"
        return ""

    def finish(self) -> bool:
        """After the last event: does the chain still hold everything the latest checkpoint signed?"""
        if self.broken_at is not None:
            return False
        checkpoint = self.checkpoint
        if checkpoint is None:
            return True
        problem = checkpoint.problem(self.key)
        if problem is None and checkpoint.scheme == PLAIN and self.keyed and self.key is not None:
            problem = "the latest checkpoint is not keyed although the chain is: it was forged"
        if problem is None:
            problem = self._against(checkpoint)
        if problem:
            self.broken_at, self.reason = checkpoint.head_id, problem
            return False
        return True

    def _against(self, checkpoint: Checkpoint) -> str:
        signed = (f"the checkpoint of {checkpoint.at.isoformat(timespec='seconds')} signed {checkpoint.count} "
                  f"events up to event {checkpoint.head_id}")
        if self._at_head is None:
            return (f"events after {self.last_id} up to {checkpoint.head_id} were deleted: {signed}, "
                    f"the chain now holds {self.checked}")
        head_hash, count = self._at_head
        if not hmac.compare_digest(head_hash, checkpoint.head_hash):
            return f"event {checkpoint.head_id} is not the one signed: events were deleted and replaced ({signed})"
        if count != checkpoint.count:
            return f"{checkpoint.count - count} events were deleted: {signed}, the chain holds {count} of them"
        return ""
