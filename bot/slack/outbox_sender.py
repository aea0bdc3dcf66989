"""The outbox's Sender on Slack: one Web API call per row, Slack's answers sorted into retry or refusal."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.services.outbox import DeliveryFailed, Job
from bot.slack.notifier import HINTS, TRANSIENT

EVENT_TYPE = "pam_outbox"  # message metadata naming the row a post came from (found again after a crash)


class SlackSender:
    """Posts, updates and publishes; the client must not retry 429 itself (the outbox waits instead)."""

    def __init__(self, client: WebClient) -> None:
        self.client = client

    def send(self, job: Job) -> dict[str, str]:
        if job.kind == "update":
            places = ((job.channel, job.ts),) if job.ts is not None else tuple(
                (card["channel"], card["ts"]) for card in job.places)
            assert places, "an update names the message it updates, or its request's cards were found for it"
            for channel, ts in places:  # a request's cards all show one state; a retry updates them all again
                answer = self._update(channel, ts, job.payload)
        elif job.kind == "publish":
            _call(lambda: self.client.views_publish(user_id=job.channel, view=job.payload["view"]))
            return {"channel": job.channel, "ts": ""}
        else:
            channel = job.channel  # a DM's is the person's user id: Slack posts it to their DM with the app
            thread: dict[str, Any] = {"thread_ts": job.ts} if job.ts else {}
            answer = _call(lambda: self.client.chat_postMessage(channel=channel, **thread, **job.payload,
                                                                metadata=_metadata(job)))
        return {"channel": str(answer["channel"]), "ts": str(answer["ts"])}

    def find(self, job: Job) -> dict[str, str] | None:
        """Look for the post in its conversation's history since the earlier attempt began."""
        if job.kind not in ("post", "dm") or job.sending_since is None:
            return None
        channel = self._conversation(job)
        oldest = f"{job.sending_since.timestamp() - 60:.6f}"  # a margin: the clocks need not agree
        answer = _call(lambda: self.client.conversations_history(channel=channel, oldest=oldest, limit=200,
                                                                 include_all_metadata=True))
        for message in answer.get("messages") or ():
            metadata = message.get("metadata") or {}
            if metadata.get("event_type") == EVENT_TYPE and \
                    (metadata.get("event_payload") or {}).get("delivery") == job.id:
                return {"channel": channel, "ts": str(message["ts"])}
        return None

    def _update(self, channel: str, ts: str, payload: dict[str, Any]) -> Any:
        return _call(lambda: self.client.chat_update(channel=channel, ts=ts, **payload))

    def _conversation(self, job: Job) -> str:
        """The conversation id whose history holds the post (conversations.history wants one, not a user id)."""
        if job.kind != "dm":
            return job.channel
        return str(_call(lambda: self.client.conversations_open(users=job.channel))["channel"]["id"])


def _metadata(job: Job) -> dict[str, Any]:
    return {"event_type": EVENT_TYPE, "event_payload": {"delivery": job.id}}


def _call(send: Callable[[], Any]) -> Any:
    try:
        return send()
    except SlackApiError as error:
        status = error.response.status_code
        code = str(error.response.get("error", "slack_error"))
        hint = HINTS.get(code, code)
        if status == 429:
            retry_after = float(error.response.headers.get("Retry-After", error.response.headers.get(
                "retry-after", 1)) or 1)
            raise DeliveryFailed("ratelimited", hint, retry_after=retry_after) from error
        raise DeliveryFailed(code, hint, permanent=status < 500 and code not in TRANSIENT) from error
    except (SlackClientError, OSError) as error:
        raise DeliveryFailed("slack_unreachable", "Slack did not answer in time or could not be reached",
                             unknown=True) from error
