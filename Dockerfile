# pam-bot: `docker build -t pam-bot .` then
#   docker run --env-file pam.env -p 3000:3000 pam-bot                              (HTTP on $PORT)
#   docker run --env-file pam.env pam-bot pam-bot serve --socket-mode               (Socket Mode)
#   docker run --env-file pam.env pam-bot pam-bot db upgrade                        (migrations, once per deploy)
# A pinned patch release: rebuilding later gives the same interpreter (raise it on purpose, with constraints.txt).
FROM python:3.11.14-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PORT=3000 \
    PROMETHEUS_MULTIPROC_DIR=/tmp/pam-metrics

WORKDIR /app
COPY pyproject.toml README.md LICENSE constraints.txt ./
# The product only: the sandbox/ stand-ins (demo and tests) stay out of the image.
COPY bot ./bot
COPY storage ./storage
RUN pip install -c constraints.txt . && rm -rf /app/bot /app/storage

# No root at run time; the home directory holds the SQLite file when DATABASE_URL is left at its default.
RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin pam
USER pam
WORKDIR /home/pam

EXPOSE 3000
# `pam-bot health`: GET /healthz on $PORT (200 when the database answers); in Socket Mode (SLACK_APP_TOKEN set),
# where nothing listens, the heartbeat the scheduler writes to the database every PAM_TICK_SECONDS.
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 \
  CMD ["pam-bot", "health"]

CMD ["pam-bot", "serve"]
