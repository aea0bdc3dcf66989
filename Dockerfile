# pam-bot: `docker build -t pam-bot .` then
#   docker run --env-file pam.env -p 3000:3000 pam-bot                              (HTTP on $PORT)
#   docker run --env-file pam.env pam-bot pam-bot serve --socket-mode               (Socket Mode)
#   docker run --env-file pam.env pam-bot pam-bot db upgrade                        (migrations, once per deploy)
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PORT=3000

WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY storage ./storage
RUN pip install . && rm -rf /app/bot /app/storage

# No root at run time; the home directory holds the SQLite file when DATABASE_URL is left at its default.
RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin pam
USER pam
WORKDIR /home/pam

EXPOSE 3000
# slim has no curl: ask /healthz with Python itself (200 when the database answers, 503 otherwise).
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(f'http://127.0.0.1:{os.environ.get(\"PORT\", \"3000\")}/healthz', timeout=4)"]

CMD ["pam-bot", "serve"]
