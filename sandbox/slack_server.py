"""HTTP front of the Slack stand-in: a threading HTTP/1.1 server handing every request to a Dispatcher. Like
slack.com it keeps a connection open from one call to the next, unless the client closes it."""

from __future__ import annotations

from urllib.parse import urlsplit

from sandbox.http import KeepAliveHTTPServer, KeptAliveHandler
from sandbox.slack_dispatch import Dispatcher


class _Server(KeepAliveHTTPServer):
    dispatcher: Dispatcher


class _Handler(KeptAliveHandler):
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
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (its timeout fired during delay_next)
            self.close_connection = True  # the call is recorded anyway


def make_server(dispatcher: Dispatcher, host: str = "127.0.0.1", port: int = 0) -> KeepAliveHTTPServer:
    server = _Server((host, port), _Handler)
    server.dispatcher = dispatcher
    return server
