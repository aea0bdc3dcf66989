"""Serve WSGI apps and stdlib HTTP servers on a free local port, in a background thread."""

from __future__ import annotations

import contextlib
import io
import socket
import socketserver
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote_to_bytes
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

Stop = Callable[[], None]
POLL_SECONDS = 0.01  # how fast shutdown() is noticed; keeps teardown quick at negligible idle cost
LISTEN_BACKLOG = 1024  # socketserver's default of 5 drops connections under bursts; production servers use 2048
SPANS_KEPT = 100_000  # a bench's whole run; older spans are forgotten


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


def serve_wsgi_kept_alive(app: Callable[..., Iterable[bytes]], *, host: str = "127.0.0.1",
                          port: int = 0) -> tuple[KeepAliveWSGIServer, Stop]:
    """Serve a WSGI app over HTTP/1.1 with persistent connections (KeepAliveWSGIServer); the server (its port,
    its `connections`) and a stop function that also closes the connections clients keep open."""
    server = KeepAliveWSGIServer(host, port, app)
    return server, serve_in_thread(server, name="sandbox-wsgi-kept-alive")


class ServerTime:
    """When a server was busy answering: one span (wall-clock seconds, `time.time()`) per request, from its request
    line read to its answer flushed. A stand-in's own records time only the app; this also counts its HTTP server
    (Python's header parsing, the WSGI environ, the answer's writes), which the real services do not charge to
    their clients and a bench must not charge to pam-bot."""

    def __init__(self) -> None:
        self._spans: deque[tuple[float, float]] = deque(maxlen=SPANS_KEPT)

    def add(self, start: float, end: float) -> None:
        self._spans.append((start, end))  # deque.append is atomic: handler threads need no lock

    def spans(self) -> list[tuple[float, float]]:
        return list(self._spans)

    def within(self, start: float, end: float) -> float:
        """Seconds spent answering between `start` and `end` (only the part of each span inside the window)."""
        return sum(max(0.0, min(last, end) - max(first, start)) for first, last in self.spans())


class KeepAliveHTTPServer(ThreadingHTTPServer):
    """A threading HTTP server whose handlers speak HTTP/1.1 with persistent connections (KeptAliveHandler), as
    AWS's and Slack's endpoints answer: a client's connection pool sends call after call on one connection.

    `stop()` (serve_in_thread) also closes the connections clients keep open, so a stopped server answers nothing
    more. `connections` counts the connections accepted; `busy` times each answer (ServerTime)."""

    daemon_threads = True
    request_queue_size = LISTEN_BACKLOG

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]) -> None:
        self.connections = 0
        self.busy = ServerTime()
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(address, handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self.connections += 1
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def server_close(self) -> None:
        super().server_close()
        with self._open_lock:
            kept, self._open = list(self._open), set()
        for connection in kept:  # the handler's thread sees the end of its stream and returns
            with contextlib.suppress(OSError):  # closed by its client already
                connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):  # a client that went away
            super().handle_error(request, client_address)


class KeptAliveHandler(BaseHTTPRequestHandler):
    """HTTP/1.1: the connection stays open unless the client asks to close it. Every answer must carry its
    Content-Length (and every request body be read whole) so the next request on the connection starts where it
    should."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # the head and the body are two writes: the body goes at once
    server: KeepAliveHTTPServer
    _arrived: float | None = None

    def parse_request(self) -> bool:
        self._arrived = time.time()  # its request line is read: from here the server is answering
        return super().parse_request()

    def handle_one_request(self) -> None:
        self._arrived = None
        super().handle_one_request()  # the answer is flushed when it returns
        if self._arrived is not None:
            self.server.busy.add(self._arrived, time.time())

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass


class KeepAliveWSGIServer(KeepAliveHTTPServer):
    """A WSGI app over HTTP/1.1 with persistent connections. Every request body is read whole before the app runs
    and every answer carries its Content-Length."""

    def __init__(self, host: str, port: int, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app
        super().__init__((host, port), _KeepAliveHandler)


class _KeepAliveHandler(KeptAliveHandler):
    server: KeepAliveWSGIServer

    def _serve(self) -> None:
        body = self._body()
        if body is None:
            self.send_error(411, "Length Required")
            return
        status: list[Any] = []
        written: list[bytes] = []

        def start_response(line: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[..., Any]:
            status[:] = [line, headers]
            return written.append

        result = self.server.app(self._environ(body), start_response)
        try:
            chunks = list(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        payload = b"".join([*written, *chunks])
        line, headers = status
        code, _, reason = line.partition(" ")
        self.send_response(int(code), reason)
        for name, value in headers:
            if name.lower() not in ("content-length", "connection", "transfer-encoding", "date", "server"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_OPTIONS = _serve

    def _body(self) -> bytes | None:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            parts = []
            while (size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)) > 0:
                parts.append(self.rfile.read(size))
                self.rfile.readline()  # the CRLF after the chunk
            while self.rfile.readline() not in (b"\r\n", b"\n", b""):  # trailers
                pass
            return b"".join(parts)
        length = self.headers.get("Content-Length")
        if length is None:
            return b"" if self.command in ("GET", "HEAD", "DELETE", "OPTIONS") else None
        return self.rfile.read(int(length))

    def _environ(self, body: bytes) -> dict[str, Any]:
        path, _, query = self.path.partition("?")
        environ: dict[str, Any] = {
            "REQUEST_METHOD": self.command, "SCRIPT_NAME": "", "QUERY_STRING": query,
            "PATH_INFO": unquote_to_bytes(path).decode("latin-1"), "SERVER_PROTOCOL": self.request_version,
            "SERVER_NAME": self.server.server_address[0], "SERVER_PORT": str(self.server.server_address[1]),
            "REMOTE_ADDR": self.client_address[0], "CONTENT_LENGTH": str(len(body)),
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "wsgi.version": (1, 0), "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr, "wsgi.multithread": True, "wsgi.multiprocess": False, "wsgi.run_once": False,
        }
        for name in self.headers:
            key = "HTTP_" + name.upper().replace("-", "_")
            if key not in ("HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH"):
                values = self.headers.get_all(name) or []
                environ[key] = ",".join(values)
        return environ
