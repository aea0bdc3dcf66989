"""Gunicorn settings of `pam-bot serve` (see bot/serve.py), for the servers the benches start."""

worker_class = "gthread"
threads = 16
timeout = 60
graceful_timeout = 30
accesslog = None


def worker_exit(server: object, worker: object) -> None:
    from bot.serve import shutdown_workers

    shutdown_workers()
