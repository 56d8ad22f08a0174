# servicebot: the FAQ bot of the Fenghuang sub-district office — Telegram and the web chat.
#
#   docker build -t servicebot .
#   docker run -d --env-file servicebot.env -v servicebot-data:/data -p 127.0.0.1:8080:8080 servicebot
#
# The image holds no token or secret: they come from the environment at run time
# (see servicebot.env.example and compose.yaml). The shipped FAQ is at /app/faq; mount
# the office's FAQ directory there to override it. Data (interaction log, pseudonym key)
# is written to /data, which must be a volume to survive upgrades.

# Same Python minor version as the lock files were resolved with (requirements*.lock).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore

WORKDIR /app

# Dependencies first, from the lock file only: this layer is rebuilt when the lock changes,
# not on every code edit. The lock pins the whole closure, including setuptools (the build
# backend), so the project below builds offline from it.
COPY requirements.lock ./
RUN pip install --no-cache-dir -r requirements.lock

# The project itself, without touching the locked dependencies. The source tree is removed
# in the same layer: the package lives in site-packages.
COPY pyproject.toml README.md /tmp/servicebot/
COPY src/ /tmp/servicebot/src/
RUN pip install --no-cache-dir --no-deps --no-build-isolation /tmp/servicebot \
    && rm -rf /tmp/servicebot

# An unprivileged user that owns only the data directory; the code and the shipped FAQ stay
# read-only to it.
RUN groupadd --gid 10001 servicebot \
    && useradd --uid 10001 --gid 10001 --home-dir /nonexistent --no-create-home \
       --shell /usr/sbin/nologin servicebot \
    && mkdir /data \
    && chown 10001:10001 /data

COPY faq/ /app/faq/

# The web chat (and /healthz, and Telegram's webhook in webhook mode) on port 8080 of every
# interface of the container; publish it behind a reverse proxy that terminates HTTPS.
# SERVICEBOT_WEB_PORT= (empty) in the env file turns the web server off. The staff desk is
# off until SERVICEBOT_DESK_PORT is set (8090 in docs/handoff.md); it then binds every interface
# of the container too, for the host to publish on the office network only.
ENV SERVICEBOT_FAQ_DIR=/app/faq \
    SERVICEBOT_DATA_DIR=/data \
    SERVICEBOT_WEB_PORT=8080 \
    SERVICEBOT_WEB_LISTEN=0.0.0.0 \
    SERVICEBOT_DESK_LISTEN=0.0.0.0
VOLUME ["/app/faq", "/data"]

USER 10001:10001

EXPOSE 8080

# The same full FAQ check the bot applies on reload, data dir, interaction log, and the
# running web server's /healthz.
HEALTHCHECK --interval=60s --timeout=30s --start-period=30s --retries=3 \
    CMD ["servicebot", "health"]

CMD ["servicebot", "run"]
