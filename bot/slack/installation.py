"""Which Slack workspace (and organisation) this installation is, from auth.test, and who belongs to it."""

from __future__ import annotations

from dataclasses import dataclass

from slack_sdk import WebClient

from bot.domain.errors import ConfigError, NotifyFailed
from bot.services.ports import Person
from bot.slack.notifier import slack_call


@dataclass(frozen=True)
class Installation:
    """The team the bot token belongs to, its Enterprise Grid organisation if any, and whether it is org-wide."""

    team_id: str
    enterprise_id: str | None = None
    org_wide: bool = False

    def foreign(self, *, team_id: str | None, enterprise_id: str | None, actor_team_id: str | None = None,
                actor_enterprise_id: str | None = None) -> str | None:
        """Why a request does not come from this installation (`foreign_team`, ...), or None when it does."""
        if enterprise_id and enterprise_id != self.enterprise_id:
            return "foreign_enterprise"
        if self.org_wide:
            if enterprise_id != self.enterprise_id:
                return "foreign_enterprise"
        elif team_id != self.team_id:
            return "foreign_team"
        if actor_team_id and not self._ours(actor_team_id, actor_enterprise_id):
            return "foreign_user"
        return None

    def member_problem(self, person: Person) -> str | None:
        """Why a person (users.info) may not use pam-bot here (`stranger`, `foreign_user`), or None."""
        if person.is_stranger:
            return "stranger"
        if not self._ours(person.team_id, person.enterprise_id):
            return "foreign_user"
        return None

    def _ours(self, team_id: str, enterprise_id: str | None) -> bool:
        return team_id == self.team_id or bool(self.enterprise_id and enterprise_id == self.enterprise_id)


def load_installation(client: WebClient) -> Installation:
    """auth.test once; a failure is a ConfigError: pam-bot does not serve without knowing whose it is."""
    try:
        answer = slack_call(client.auth_test)
    except NotifyFailed as error:
        raise ConfigError(f"Slack's auth.test failed ({error.code}), so pam-bot cannot tell which workspace it "
                          f"serves and refuses to start. Check SLACK_BOT_TOKEN and SLACK_API_URL, and that Slack "
                          f"can be reached.", code="installation_unknown") from None
    team_id = str(answer.get("team_id") or "")
    if not team_id:
        raise ConfigError("Slack's auth.test named no team, so pam-bot refuses to start. Check SLACK_BOT_TOKEN.",
                          code="installation_unknown")
    return Installation(team_id=team_id, enterprise_id=answer.get("enterprise_id") or None,
                        org_wide=bool(answer.get("is_enterprise_install")))
