"""The running bot: composition root, web, worker, scheduler, metrics and the gunicorn settings."""
