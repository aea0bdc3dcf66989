"""Gunicorn settings of `pam-bot serve` (bot/runtime/gunicorn_conf.py) for the servers the benches start.

The same worker class, threads, timeouts and drain on exit; without the Procfile's start-up migration (the
bench migrates its database itself, and the bare baseline app has none).
"""

from bot.runtime.gunicorn_conf import accesslog, graceful_timeout, threads, timeout, worker_class, worker_exit

__all__ = ["accesslog", "graceful_timeout", "threads", "timeout", "worker_class", "worker_exit"]
