"""Whose request is it: the team and organisation rules of an installation, for plain, Grid and org-wide installs."""

from __future__ import annotations

import pytest

from bot.services.ports import Person
from bot.slack.installation import Installation

PLAIN = Installation("T0PAM")
GRID = Installation("T0PAM", enterprise_id="E0ORG")
ORG_WIDE = Installation("T0PAM", enterprise_id="E0ORG", org_wide=True)


@pytest.mark.parametrize(("installation", "team", "enterprise", "actor_team", "expected"), [
    (PLAIN, "T0PAM", None, "T0PAM", None),
    (PLAIN, "T0OTHER", None, None, "foreign_team"),
    (PLAIN, "T0PAM", "E0EVIL", None, "foreign_enterprise"),
    (PLAIN, "T0PAM", None, "T0PARTNER", "foreign_user"),  # Slack Connect: someone else's member acting here
    (PLAIN, None, None, None, "foreign_team"),
    (GRID, "T0PAM", "E0ORG", "T0SISTER", None),  # a colleague from another workspace of the same organisation
    (GRID, "T0SISTER", "E0ORG", None, "foreign_team"),  # a workspace install answers its own workspace only
    (GRID, "T0PAM", "E0EVIL", None, "foreign_enterprise"),
    (ORG_WIDE, "T0SISTER", "E0ORG", "T0SISTER", None),
    (ORG_WIDE, "T0SISTER", None, None, "foreign_enterprise"),
    (ORG_WIDE, "T0X", "E0EVIL", None, "foreign_enterprise"),
])
def test_foreign_requests(installation: Installation, team: str | None, enterprise: str | None,
                          actor_team: str | None, expected: str | None) -> None:
    # Bolt's actor enterprise falls back to the request's enterprise, as here.
    assert installation.foreign(team_id=team, enterprise_id=enterprise, actor_team_id=actor_team,
                                actor_enterprise_id=enterprise) == expected


@pytest.mark.parametrize(("installation", "person", "expected"), [
    (PLAIN, Person("U1", "T0PAM"), None),
    (PLAIN, Person("U1", "T0PARTNER", is_stranger=True), "stranger"),
    (PLAIN, Person("U1", "T0PAM", is_stranger=True), "stranger"),
    (PLAIN, Person("U1", "T0OTHER"), "foreign_user"),
    (PLAIN, Person("U1", ""), "foreign_user"),
    (GRID, Person("U1", "T0SISTER", enterprise_id="E0ORG"), None),
    (GRID, Person("U1", "T0SISTER", enterprise_id="E0EVIL"), "foreign_user"),
])
def test_members(installation: Installation, person: Person, expected: str | None) -> None:
    assert installation.member_problem(person) == expected
