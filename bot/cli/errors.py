"""Exit codes of the `pam-bot` command (README lists them)."""

EXIT_OK = 0
EXIT_CHECK_FAILED = 1  # doctor, audit verify, health: the command ran and found a problem
EXIT_REFUSED = 2  # bad input or configuration, or a service pam-bot needs cannot be reached (the message says which)
EXIT_WORKER_BOOT = 3  # gunicorn: a web worker could not start (the line before says why)
EXIT_INTERRUPTED = 130
