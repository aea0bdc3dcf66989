"""Members remembered a few minutes (RememberedPeople over the real directory and the Slack stand-in)."""

from __future__ import annotations

import pytest
from slack_sdk import WebClient

from bot.domain.errors import NotFound
from bot.slack.notifier import SlackDirectory
from bot.slack.people import RememberedPeople
from sandbox.slack_api import SlackApiStandIn


class Ticks:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def lookups(slack_api: SlackApiStandIn, user_id: str) -> int:
    return sum(1 for c in slack_api.calls_to("users.info") if c.args.get("user") == user_id)


def test_a_member_is_asked_about_once_per_ttl(slack_api: SlackApiStandIn, slack_web_client: WebClient) -> None:
    slack_api.add_user("UMEMBER1", name="bob", email="bob@example.com")
    ticks = Ticks()
    people = RememberedPeople(SlackDirectory(slack_web_client), ttl=300, now=ticks)
    assert people.person("UMEMBER1").email == "bob@example.com"
    ticks.now = 299
    assert people.person("UMEMBER1").name == "bob"
    assert lookups(slack_api, "UMEMBER1") == 1
    slack_api.add_user("UMEMBER1", name="bob", email="bob@example.com", deleted=True)
    ticks.now = 301  # after the ttl Slack is asked again and tells the news
    assert people.person("UMEMBER1").is_deleted
    assert lookups(slack_api, "UMEMBER1") == 2


@pytest.mark.parametrize("flags", [{"deleted": True}, {"is_restricted": True}, {"is_bot": True}])
def test_anyone_but_a_plain_member_is_asked_about_every_time(slack_api: SlackApiStandIn,
                                                              slack_web_client: WebClient, flags: dict[str, bool]) -> None:
    slack_api.add_user("UODD0001", name="odd", email="odd@example.com", **flags)
    people = RememberedPeople(SlackDirectory(slack_web_client))
    people.person("UODD0001")
    slack_api.add_user("UODD0001", name="odd", email="odd@example.com")  # fixed since: the next look sees it
    assert not people.person("UODD0001").is_deleted
    assert lookups(slack_api, "UODD0001") == 2


def test_unknown_people_and_groups_are_never_remembered(slack_api: SlackApiStandIn,
                                                        slack_web_client: WebClient) -> None:
    people = RememberedPeople(SlackDirectory(slack_web_client))
    for _ in range(2):
        with pytest.raises(NotFound):
            people.person("UNOBODY01")
    slack_api.add_usergroup("SGROUP1", ["UA"])
    assert people.group_members("SGROUP1") == frozenset({"UA"})
    slack_api.add_usergroup("SGROUP1", ["UB"])
    assert people.group_members("SGROUP1") == frozenset({"UB"})
    assert lookups(slack_api, "UNOBODY01") == 2
