"""The unknown-button and unknown-form fallbacks match only ids no other listener handles."""

from __future__ import annotations


import pytest

from bot.slack.ids import Action, View, other_than

LATE = 3.5  # seconds before the listener starts: past Bolt's own ack_timeout of 3 s


@pytest.mark.parametrize("known", [Action, View])
def test_fallbacks_match_only_ids_nobody_else_handles(known: type[Action] | type[View]) -> None:
    pattern = other_than(known)
    assert not any(pattern.search(item.value) for item in known)
    assert all(pattern.search(other) for other in ("pam_approve_v0", "x", "", f"old_{next(iter(known)).value}"))
