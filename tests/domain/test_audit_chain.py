"""The chain check: keyed and plain events, downgrades, and the signed checkpoint that shows a cut-off tail."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from bot.domain.audit import GENESIS, KEYED, PLAIN, AuditEntry, AuditKey, Checkpoint, Link, chain_hash
from bot.domain.audit_chain import ChainCheck

KEY = AuditKey(b"k" * 32)
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def chain(count: int, key: AuditKey | None = KEY, plain_first: int = 0) -> list[Link]:
    links, prev = [], GENESIS
    for number in range(1, count + 1):
        used = None if number <= plain_first else key
        entry = AuditEntry(f"U{number}", "request.submit", f"R-{number}", details={"n": number})
        at = T0 + timedelta(seconds=number)
        digest = chain_hash(prev, at, entry, used)
        links.append(Link(number, prev, digest, at, KEYED if used else PLAIN, entry))
        prev = digest
    return links


def walk(links: list[Link], key: AuditKey | None = KEY, checkpoint: Checkpoint | None = None) -> ChainCheck:
    check = ChainCheck(key, checkpoint)
    if all(check.add(link) for link in links):
        check.finish()
    return check


def signed(links: list[Link], key: AuditKey | None = KEY) -> Checkpoint:
    return Checkpoint(links[-1].id, links[-1].hash, len(links), T0 + timedelta(hours=1)).signed(key)


def test_a_plain_start_then_keyed_events_verify() -> None:
    links = chain(6, plain_first=3)
    check = walk(links, checkpoint=signed(links))
    assert check.broken_at is None and (check.checked, check.keyed) == (6, 3)


@given(st.integers(min_value=1, max_value=8), st.sampled_from(["actor", "action", "target", "outcome"]))
def test_any_changed_field_breaks_a_keyed_chain_even_with_a_recomputed_plain_hash(victim: int, name: str) -> None:
    links = chain(8)
    old = links[victim - 1]
    entry = replace(old.entry, **{name: getattr(old.entry, name) + "x"})
    for scheme, key in ((KEYED, None), (PLAIN, None)):  # the forger has no key
        links[victim - 1] = replace(old, entry=entry, scheme=scheme, hash=chain_hash(old.prev_hash, old.at, entry, key))
        # Caught at the event itself, or (a plain first event looks like a pre-key one) at the next link.
        assert walk(links).broken_at in (victim, victim + 1)


def test_a_cut_tail_is_caught_by_the_checkpoint_only() -> None:
    links = chain(10)
    checkpoint = signed(links)
    assert walk(links[:7]).broken_at is None  # without a checkpoint nothing shows
    check = walk(links[:7], checkpoint=checkpoint)
    assert check.broken_at == 10 and "deleted" in check.reason


def test_a_forged_or_unkeyed_checkpoint_is_refused() -> None:
    links = chain(5)
    cut = links[:3]
    assert "forged" in walk(cut, checkpoint=replace(signed(cut), mac="0" * 64)).reason
    assert "not keyed" in walk(cut, checkpoint=signed(cut, key=None)).reason
    assert "PAM_AUDIT_KEY" in walk(links, key=None, checkpoint=signed(links)).reason
