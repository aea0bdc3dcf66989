"""Exit codes of the `pam-bot` command (README lists them)."""

EXIT_OK = 0
EXIT_CHECK_FAILED = 1  # doctor, audit verify, health found a problem; apply could not make a check
EXIT_REFUSED = 2  # bad input or configuration, or a service pam-bot needs cannot be reached (the message says which)
# 3 is gunicorn's own exit when a web worker could not start (the line before says why); pam-bot never returns it.
EXIT_INTERRUPTED = 130
EXIT_PIPE_CLOSED = 141  # what a shell reports for a command whose reader went away (128 + SIGPIPE)
