"""Load: signed Slack requests built ahead of time, sent from a separate process by N concurrent clients."""

from __future__ import annotations

import http.client
import json
import multiprocessing
import os
import statistics
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from harness import CHANNEL, SIGNING_SECRET

from sandbox.slack_api import SlackApiStandIn
from sandbox.slack_driver import SlackDriver
from sandbox.slack_signed import Response, signature_headers

Prepared = tuple[bytes, dict[str, str]]


class PayloadBuilder(SlackDriver):
    """The sandbox driver's payloads (real trigger ids, response URLs and card blocks), signed but not sent."""

    def __init__(self, api: SlackApiStandIn) -> None:
        super().__init__("http://unused/slack/events", SIGNING_SECRET, api=api, team_id=api.team_id)
        self.prepared: list[Prepared] = []

    def _send(self, body: bytes, content_type: str, **ignored: Any) -> Response:
        headers = {"Content-Type": content_type, **signature_headers(body, SIGNING_SECRET, int(time.time()))}
        self.prepared.append((body, headers))
        return Response(0, "", None)

    def take(self) -> list[Prepared]:
        taken, self.prepared = self.prepared, []
        return taken


def commands(api: SlackApiStandIn, pairs: list[tuple[str, str]]) -> list[Prepared]:
    """`/pam <text>` from each (user, text)."""
    builder = PayloadBuilder(api)
    for user_id, text in pairs:
        builder.command(user_id, text)
    return builder.take()


def approvals(api: SlackApiStandIn, approver: str, cards: list[dict[str, Any]]) -> list[Prepared]:
    """An Approve click on each card, carrying the card as Slack would."""
    builder = PayloadBuilder(api)
    for card in cards:
        builder.click(approver, "pam_approve", card_ref(card), channel_id=CHANNEL, message_ts=card["ts"])
    return builder.take()


def card_ref(card: dict[str, Any]) -> str:
    for block in card.get("blocks") or []:
        for element in block.get("elements") or []:
            if isinstance(element, dict) and element.get("action_id") == "pam_approve":
                return str(element["value"])
    raise ValueError("not a pending approval card")


def wait_until(condition: Any, timeout: float, what: str) -> float:
    """Poll `condition()` until true; return the seconds it took."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise TimeoutError(f"{what} did not happen within {timeout:g} s")
        time.sleep(0.05)
    return time.monotonic() - started


@dataclass(frozen=True)
class Result:
    latencies: list[float]  # seconds, one per request, in sending order
    statuses: list[int]
    wall: float
    cpu: float = 0.0  # CPU seconds the clients' own process used sending them

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]

    @property
    def errors(self) -> int:
        return sum(status != 200 for status in self.statuses)

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.wall if self.wall else 0.0


class Sender:
    """A client process kept for many sends (starting one takes seconds: it imports the bench's modules); with
    `cores`, it runs on those cores only."""

    def __init__(self, cores: set[int] | None = None) -> None:
        self.cores = cores

    def __enter__(self) -> Sender:
        self._pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
        return self

    def __exit__(self, *exc: object) -> None:
        self._pool.shutdown()

    def ready(self) -> None:
        """Start the process and import what it needs now, so that what it costs is not counted in a send."""
        if self.cores:
            self._pool.submit(os.sched_setaffinity, 0, self.cores).result()  # its client threads inherit it
        self._pool.submit(time.process_time).result()

    def send(self, url: str, items: list[Prepared], concurrency: int) -> Result:
        latencies, statuses, wall, cpu = self._pool.submit(_send_all, url, items, concurrency).result()
        return Result(latencies, statuses, wall, cpu)


def send(url: str, items: list[Prepared], concurrency: int) -> Result:
    """POST every item with `concurrency` clients, from a fresh process so the stand-ins here do not skew timing."""
    with Sender() as sender:
        return sender.send(url, items, concurrency)


def _send_all(url: str, items: list[Prepared], concurrency: int) -> tuple[list[float], list[int], float, float]:
    parts = urlsplit(url)
    latencies, statuses = [0.0] * len(items), [0] * len(items)
    cursor = iter(range(len(items)))
    lock = threading.Lock()

    def client() -> None:
        while True:
            with lock:
                index = next(cursor, None)
            if index is None:
                return
            body, headers = items[index]
            started = time.perf_counter()
            connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
            try:
                connection.request("POST", parts.path, body=body, headers=headers)
                answer = connection.getresponse()
                answer.read()
                statuses[index] = answer.status
            except OSError:
                statuses[index] = -1
            finally:
                connection.close()
            latencies[index] = time.perf_counter() - started

    started, cpu = time.perf_counter(), time.process_time()
    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, statuses, time.perf_counter() - started, time.process_time() - cpu


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f}" if seconds >= 0.1 else f"{seconds * 1000:.1f}"


def table(headers: list[str], rows: list[list[str]]) -> str:
    """A Markdown table (readable in a terminal, pasteable into RESULTS.md)."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=True)]
    line = lambda cells: "| " + " | ".join(str(c).rjust(w) for c, w in zip(cells, widths, strict=True)) + " |"  # noqa: E731
    return "\n".join([line(headers), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *map(line, rows)])


def median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


def dumps(value: Any) -> str:
    return json.dumps(value, default=str)
