"""Gunicorn settings of `pam-bot serve` (bot/runtime/gunicorn_conf.py) for the servers the benches start.

The same worker class, threads, timeouts and drain on exit; without the Procfile's start-up migration (the
bench migrates its database itself, and the bare baseline app has none).

With PAM_BENCH_HANDLER_TIMES set to a directory, each worker process also appends there, one line per request,
the seconds gunicorn spent in the handler (from its `pre_request` hook to its `post_request` hook: the app's call
and the answer written), so a bench can split a client's latency into time in the handler and the wait before it
to be accepted and read (`bench/ack_latency.py --handler-times`, bench/server.py's HandlerTimes).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from bot.runtime.gunicorn_conf import accesslog, graceful_timeout, threads, timeout, worker_class, worker_exit

__all__ = ["accesslog", "graceful_timeout", "threads", "timeout", "worker_class", "worker_exit"]
HANDLER_TIMES = "PAM_BENCH_HANDLER_TIMES"

if os.environ.get(HANDLER_TIMES):
    _began: dict[int, float] = {}

    def pre_request(worker: Any, req: Any) -> None:
        _began[id(req)] = time.perf_counter()

    def post_request(worker: Any, req: Any, environ: Any, resp: Any) -> None:
        began = _began.pop(id(req), None)
        if began is not None:
            path = Path(os.environ[HANDLER_TIMES]) / f"{os.getpid()}.txt"
            with path.open("a") as spans:  # one short append per request: a few microseconds
                spans.write(f"{time.perf_counter() - began:.6f}\n")

    __all__ += ["post_request", "pre_request"]
