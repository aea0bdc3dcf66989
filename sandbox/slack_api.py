"""A local stand-in of the Slack Web API over HTTP: records every call, enforces our rules, fails on demand."""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any

from sandbox.http import KeepAliveHTTPServer, Stop, serve_in_thread
from sandbox.slack_calls import Predicate, RecordedCall
from sandbox.slack_dispatch import RESPONSE_URL, Dispatcher
from sandbox.slack_faults import Fault, failure
from sandbox.slack_server import make_server
from sandbox.slack_workspace import Workspace

__all__ = ["RecordedCall", "SlackApiStandIn"]

DEFAULT_BOT_TOKEN = "xoxb-pam-sandbox"


class SlackApiStandIn:
    """Serves `/api/<method>` like slack.com (form or JSON bodies, Bearer token) and `/response/<key>` URLs.

    Beyond Slack's own checks it enforces pam-bot's rules: every message carries top-level `text`
    (`no_text`; Slack itself only warns), Block Kit limits (`invalid_blocks`, for views too, where Slack
    says `invalid_arguments`), trigger ids are single use within 3 s, a response_url takes 5 posts.
    Times (`RecordedCall.at`, trigger ages, message ts) come from the injected `clock`.
    """

    def __init__(self, bot_token: str = DEFAULT_BOT_TOKEN, *, team_id: str = "T0PAM", bot_user_id: str = "U0PAMBOT",
                 host: str = "127.0.0.1", port: int = 0, clock: Callable[[], float] = time.time,
                 enterprise_id: str | None = None) -> None:
        self.bot_token, self.team_id, self.bot_user_id = bot_token, team_id, bot_user_id
        self.enterprise_id = enterprise_id
        self._host, self._port, self._clock = host, port, clock
        self._dispatcher = Dispatcher(bot_token, self._new_workspace())
        self._stop: Stop | None = None
        self._server: KeepAliveHTTPServer | None = None

    def _new_workspace(self) -> Workspace:
        return Workspace(team_id=self.team_id, bot_user_id=self.bot_user_id, clock=self._clock,
                         enterprise_id=self.enterprise_id)

    @property
    def _ws(self) -> Workspace:
        return self._dispatcher.workspace

    # --- life cycle -------------------------------------------------------------------------------------
    def start(self) -> SlackApiStandIn:
        if self._stop is None:
            server = self._server = make_server(self._dispatcher, self._host, self._port)
            self._port = server.server_address[1]
            self._dispatcher.stopping.clear()
            self._stop = serve_in_thread(server, name="slack-api-stand-in")
        return self

    def stop(self) -> None:
        if self._stop is not None:
            self._dispatcher.stopping.set()  # wakes requests sleeping in delay_next
            self._stop()
            self._stop = None

    def __enter__(self) -> SlackApiStandIn:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    @property
    def connections(self) -> int:
        """Connections accepted since the last start: a client that keeps its connection open makes one for many
        calls, as slack.com lets it."""
        return self._server.connections if self._server is not None else 0

    def served_seconds(self, start: float, end: float) -> float:
        """Seconds its server spent answering between `start` and `end` (`time.time()`), its HTTP handling
        included (sandbox.http.ServerTime)."""
        return self._server.busy.within(start, end) if self._server is not None else 0.0

    @property
    def root_url(self) -> str:
        if self._stop is None:
            raise RuntimeError("the Slack stand-in is not started")
        return f"http://{self._host}:{self._port}"

    @property
    def base_url(self) -> str:
        """The bot's SLACK_API_URL, e.g. `http://127.0.0.1:PORT/api/`."""
        return f"{self.root_url}/api/"

    def reset(self) -> None:
        """Forget calls, faults, directory, messages, views and triggers; the server keeps running."""
        self._dispatcher.log.clear()
        self._dispatcher.failures.clear()
        self._dispatcher.delays.clear()
        self._dispatcher.response_url_uses.clear()
        self._dispatcher.workspace = self._new_workspace()

    # --- workspace set-up ---------------------------------------------------------------------------------
    def add_user(self, user_id: str, *, name: str, email: str | None = None, is_bot: bool = False,
                 deleted: bool = False, is_restricted: bool = False, is_ultra_restricted: bool = False,
                 is_admin: bool = False, is_stranger: bool = False, team_id: str | None = None,
                 tz_offset: int = 0) -> None:
        """A person of this workspace, of another `team_id`, or a Slack Connect stranger (`is_stranger`), living
        `tz_offset` seconds east of UTC."""
        self._ws.add_user(user_id, name=name, email=email, is_bot=is_bot, deleted=deleted,
                          is_restricted=is_restricted, is_ultra_restricted=is_ultra_restricted, is_admin=is_admin,
                          is_stranger=is_stranger, team_id=team_id, tz_offset=tz_offset)

    def add_usergroup(self, group_id: str, user_ids: list[str]) -> None:
        with self._ws.lock:
            self._ws.usergroups[group_id] = list(user_ids)

    def add_channel(self, channel_id: str, *, name: str | None = None, is_private: bool = False,
                    is_member: bool = True) -> None:
        """A channel the bot can post to; `is_member=False` makes posts answer `not_in_channel`."""
        with self._ws.lock:
            self._ws.channels[channel_id] = {"name": name, "is_private": is_private, "is_member": is_member}

    def issue_trigger_id(self) -> str:
        """A fresh trigger id for an interaction payload: views.open accepts it once, within 3 s."""
        return self._ws.issue_trigger()

    def response_url_for(self, key: str) -> str:
        """A response_url on this stand-in; POSTs to it are recorded as method `response_url`."""
        return f"{self.root_url}/response/{key}"

    # --- faults -------------------------------------------------------------------------------------------
    def fail_next(self, method: str, *, status: int | None = None, error: str | None = None,
                  retry_after: int = 1, times: int = 1) -> None:
        """Answer the next `times` calls to `method` with HTTP `status` (429 adds Retry-After) or `ok: false`."""
        self._dispatcher.failures.add(method, failure(status=status, error=error, retry_after=retry_after), times)

    def delay_next(self, method: str, seconds: float, *, times: int = 1) -> None:
        """Hold the next `times` answers to `method` for `seconds` (a failure planned for it still applies)."""
        self._dispatcher.delays.add(method, Fault(delay=seconds), times)

    # --- observations -------------------------------------------------------------------------------------
    @property
    def calls(self) -> list[RecordedCall]:
        return self._dispatcher.log.snapshot()

    def calls_to(self, method: str) -> list[RecordedCall]:
        return [call for call in self.calls if call.method == method]

    def wait_for(self, method: str, predicate: Predicate | None = None, timeout: float = 5.0) -> RecordedCall:
        """The first call to `method` matching `predicate`; waits up to `timeout` s, then TimeoutError."""
        return self._dispatcher.log.wait_for(method, predicate, timeout)

    def dms_to(self, user_id: str) -> list[RecordedCall]:
        """Successful chat.postMessage calls that landed in the DM with `user_id` (posted to D… or U…)."""
        dm = f"D{user_id}"
        return [c for c in self.calls_to("chat.postMessage") if c.ok and c.response.get("channel") == dm]

    def ephemerals_to(self, user_id: str) -> list[RecordedCall]:
        return [c for c in self.calls_to("chat.postEphemeral") if c.ok and c.args.get("user") == user_id]

    def responses_to(self, url_or_key: str) -> list[RecordedCall]:
        """Calls to one response_url, given as the URL itself or the key passed to `response_url_for`."""
        path = f"/response/{url_or_key.rsplit('/response/', 1)[-1]}"
        return [c for c in self.calls_to(RESPONSE_URL) if c.path == path]

    def messages(self, channel: str | None = None) -> list[dict[str, Any]]:
        """Current state of stored messages (after updates), oldest first, optionally for one conversation."""
        with self._ws.lock:
            found = [m for m in self._ws.messages.values() if channel is None or m["channel"] == channel]
            return copy.deepcopy(found)

    def message(self, channel: str, ts: str) -> dict[str, Any] | None:
        with self._ws.lock:
            return copy.deepcopy(self._ws.messages.get((channel, ts)))

    def user(self, user_id: str) -> dict[str, Any] | None:
        """The `users.info` object of a user, or None."""
        with self._ws.lock:
            return copy.deepcopy(self._ws.users.get(user_id))

    @property
    def views(self) -> dict[str, dict[str, Any]]:
        """Every view opened, pushed, updated or published, by view id (latest state)."""
        with self._ws.lock:
            return copy.deepcopy(self._ws.views)

    @property
    def published_views(self) -> dict[str, dict[str, Any]]:
        """The Home tab currently published for each user id."""
        with self._ws.lock:
            return copy.deepcopy(self._ws.published)
