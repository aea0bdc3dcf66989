"""An ack that stays given: a listener failing after its ack cannot take the answer back from Slack."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any

from slack_bolt import Ack, BoltContext
from slack_bolt.response import BoltResponse

from bot.slack.listener_pool import ListenerPool


class KeptAck(Ack):
    """Bolt's runner resets `ack.response` to None when a listener fails after acking (slack_bolt 1.x).

    The request thread polls for that response, so the reset makes Slack wait the full 3 s and then get
    404 "unhandled request" although the ack had been given. Keeping the first response avoids both.
    `after` runs once the answer is set (ListenerPool.after_ack: wait for a work slot).
    """

    def __init__(self, after: Callable[[], None] | None = None) -> None:
        self._after = after
        super().__init__()

    @property  # type: ignore[override]
    def response(self) -> BoltResponse | None:
        return self.__dict__.get("_kept")

    @response.setter
    def response(self, value: BoltResponse | None) -> None:
        if value is not None or self.__dict__.get("_kept") is None:
            self.__dict__["_kept"] = value

    def __call__(self, *args: Any, **kwargs: Any) -> BoltResponse:
        answer = super().__call__(*args, **kwargs)
        if self._after is not None:
            self._after()
        return answer


def keep_ack(executor: Executor) -> Callable[..., Any]:
    """Global middleware installing a KeptAck (gated by the executor's work slots when it has them)."""
    after = executor.after_ack if isinstance(executor, ListenerPool) else None

    def middleware(context: BoltContext, next: Callable[[], Any]) -> Any:  # noqa: A002 - Bolt's argument name
        context["ack"] = KeptAck(after)
        return next()

    return middleware
