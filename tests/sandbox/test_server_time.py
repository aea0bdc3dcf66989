"""The stand-ins' servers time each answer whole, from the request line to the flushed answer: the app's own
timing misses the server's HTTP work (header parsing, the WSGI environ, the writes), which a bench would otherwise
charge to pam-bot. Real services do that work on their own machines, not in the client's time."""

from __future__ import annotations

import http.client
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pytest

from sandbox.http import KeepAliveWSGIServer, ServerTime, serve_wsgi_kept_alive
from sandbox.slack_api import SlackApiStandIn
from tests.sandbox.test_slack_connections import call, connect

pytest_plugins = ["tests.fixtures_slack"]


def recorded(busy: ServerTime, count: int) -> None:
    """A span is kept once its answer is flushed, just after the client may have read it: wait for `count`."""
    deadline = time.monotonic() + 5
    while len(busy.spans()) < count and time.monotonic() < deadline:
        time.sleep(0.005)
    assert len(busy.spans()) == count


def test_a_window_counts_only_the_part_of_each_span_inside_it() -> None:
    busy = ServerTime()
    busy.add(10.0, 12.0)
    busy.add(13.0, 14.0)
    assert busy.within(0.0, 20.0) == pytest.approx(3.0)
    assert busy.within(11.0, 13.5) == pytest.approx(1.5)
    assert busy.within(12.0, 13.0) == 0.0
    assert busy.within(20.0, 30.0) == 0.0


@pytest.fixture
def timed_app() -> Iterator[tuple[KeepAliveWSGIServer, list[tuple[float, float]]]]:
    """A WSGI app that notes when it was entered and left, served kept-alive."""
    inside: list[tuple[float, float]] = []

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        entered = time.time()
        environ["wsgi.input"].read()
        start_response("200 OK", [("Content-Type", "text/plain")])
        time.sleep(0.02)
        inside.append((entered, time.time()))
        return [b"ok"]

    server, stop = serve_wsgi_kept_alive(app)
    try:
        yield server, inside
    finally:
        stop()


def test_a_wsgi_servers_span_holds_its_app_and_its_http_work(
        timed_app: tuple[KeepAliveWSGIServer, list[tuple[float, float]]]) -> None:
    server, inside = timed_app
    connection = http.client.HTTPConnection("127.0.0.1", server.server_port, timeout=5)
    try:
        for _ in range(3):
            connection.request("POST", "/", body=b"x" * 100, headers={"X-Many": "h" * 2000})
            assert connection.getresponse().read() == b"ok"
    finally:
        connection.close()
    assert len(inside) == 3
    recorded(server.busy, 3)
    for entered, left in inside:  # the span of each answer starts before its app and ends after it
        assert server.busy.within(entered, left) == pytest.approx(left - entered)
    spans = server.busy.spans()
    assert len(spans) == 3
    for (first, last), (entered, left) in zip(spans, inside, strict=True):
        assert first <= entered and left <= last


def test_the_slack_stand_ins_server_time_covers_its_calls_planned_delay(slack_api: SlackApiStandIn) -> None:
    slack_api.add_channel("C1")
    slack_api.delay_next("chat.postMessage", 0.05)
    connection = connect(slack_api)
    try:
        before = time.time()
        assert call(connection, "chat.postMessage", channel="C1", text="hello")["ok"]
    finally:
        connection.close()
    (posted,) = [c for c in slack_api.calls if c.method == "chat.postMessage"]
    assert posted.duration >= 0.05
    deadline = time.monotonic() + 5  # the span is kept once the answer is flushed, just after the client read it
    while slack_api.served_seconds(before, time.time()) < posted.duration and time.monotonic() < deadline:
        time.sleep(0.005)
    assert slack_api.served_seconds(before, time.time()) >= posted.duration
