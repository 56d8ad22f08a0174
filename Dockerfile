# servicebot: the Telegram FAQ bot of the Fenghuang sub-district office.
#
#   docker build -t servicebot .
#   docker run -d --env-file servicebot.env -v servicebot-data:/data servicebot
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

ENV SERVICEBOT_FAQ_DIR=/app/faq \
    SERVICEBOT_DATA_DIR=/data
VOLUME ["/app/faq", "/data"]

USER 10001:10001

# Polling mode opens no port; in webhook mode publish SERVICEBOT_WEBHOOK_PORT (8443).
EXPOSE 8443

# The same full FAQ check the bot applies on reload, plus data dir and interaction log.
HEALTHCHECK --interval=60s --timeout=30s --start-period=30s --retries=3 \
    CMD ["servicebot", "health"]

CMD ["servicebot", "run"]
