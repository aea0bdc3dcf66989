"""Serve WSGI apps and stdlib HTTP servers on a free local port, in a background thread."""

from __future__ import annotations

import socketserver
import threading
from collections.abc import Callable
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

Stop = Callable[[], None]
POLL_SECONDS = 0.01  # how fast shutdown() is noticed; keeps teardown quick at negligible idle cost
LISTEN_BACKLOG = 1024  # socketserver's default of 5 drops connections under bursts; production servers use 2048


class _ThreadingWSGIServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True
    request_queue_size = LISTEN_BACKLOG


class _QuietWSGIRequestHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass


def serve_in_thread(server: socketserver.BaseServer, *, name: str = "sandbox-http") -> Stop:
    """Run `server.serve_forever()` in a daemon thread; return an idempotent stop function."""
    thread = threading.Thread(target=server.serve_forever, args=(POLL_SECONDS,), name=name, daemon=True)
    thread.start()
    stopped = threading.Event()

    def stop() -> None:
        if stopped.is_set():
            return
        stopped.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

    return stop


def serve_wsgi(app: Callable[..., Any], *, host: str = "127.0.0.1", port: int = 0) -> tuple[str, Stop]:
    """Serve a WSGI app; return its base URL (`http://127.0.0.1:PORT`, no trailing slash) and a stop function."""
    server = make_server(
        host, port, app, server_class=_ThreadingWSGIServer, handler_class=_QuietWSGIRequestHandler
    )
    stop = serve_in_thread(server, name="sandbox-wsgi")
    return f"http://{host}:{server.server_port}", stop
