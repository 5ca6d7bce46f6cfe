# Slim runtime image. Secrets are never baked in: pass them at run time (--env-file .env).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DATABASE_PATH=/data/bot.sqlite3

RUN useradd --create-home --uid 10001 bot \
    && mkdir -p /data \
    && chown bot:bot /data

WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY cogs ./cogs
RUN pip install .

USER bot
VOLUME ["/data"]

# The bot handles SIGTERM itself (clean shutdown; running jobs resume at the next start).
STOPSIGNAL SIGTERM
ENTRYPOINT ["python", "-m", "bot"]
