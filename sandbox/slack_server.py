"""HTTP front of the Slack stand-in: a stdlib ThreadingHTTPServer handing every request to a Dispatcher."""

from __future__ import annotations

from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from sandbox.http import LISTEN_BACKLOG
from sandbox.slack_dispatch import Dispatcher


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = LISTEN_BACKLOG
    dispatcher: Dispatcher


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        self._answer()

    def do_GET(self) -> None:
        self._answer()

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        url = urlsplit(self.path)
        headers = {k.lower(): v for k, v in self.headers.items()}
        answer = self.server.dispatcher.handle(url.path, url.query, headers, body)
        try:
            self.send_response(answer.status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(answer.body)))
            for name, value in answer.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(answer.body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (e.g. its timeout fired during delay_next); the call is recorded anyway

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass


def make_server(dispatcher: Dispatcher, host: str = "127.0.0.1", port: int = 0) -> ThreadingHTTPServer:
    server = _Server((host, port), _Handler)
    server.dispatcher = dispatcher
    return server
