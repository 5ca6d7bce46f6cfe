# Slim runtime image. Secrets are never baked in: pass them at run time (--env-file .env).
# The base image is pinned to a patch release; bump it deliberately (and re-run scripts/lock).
FROM python:3.11.14-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    METRICS_PORT=9100

# Chinese and Japanese glyphs for the /usage chart (Droid Sans Fallback, Apache-2.0, 7 MB installed;
# Noto CJK would be over 50 MB). Without a CJK font the chart is drawn in English for those members.
# Pinned to bookworm's version, like the base image: bump both together.
RUN apt-get update \
    && apt-get install -y --no-install-recommends fonts-droid-fallback=1:6.0.1r16-1.1 \
    && rm -rf /var/lib/apt/lists/*

# The working folder's data/ is the volume, so the project's own .env.example (DATABASE_PATH=data/…)
# works unchanged inside the container, and /data stays the documented mount point.
RUN useradd --create-home --uid 10001 bot \
    && mkdir -p /data /app \
    && chown bot:bot /data \
    && ln -s /data /app/data

WORKDIR /app
# Exact versions from the lock file first (a layer that changes only when the lock does) ...
COPY requirements.lock ./
RUN pip install -r requirements.lock
# ... then the project itself, which must not pull anything the lock file lacks.
COPY pyproject.toml README.md LICENSE ./
COPY bot ./bot
COPY cogs ./cogs
RUN pip install --no-deps .

USER 10001:10001
VOLUME ["/data"]

# /healthz (served on METRICS_PORT, inside the container only unless METRICS_HOST is changed) answers
# 200 while the process runs and its database answers.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:9100/healthz', timeout=3)"]

# The bot handles SIGTERM itself (clean shutdown; running jobs resume at the next start).
STOPSIGNAL SIGTERM
ENTRYPOINT ["python", "-m", "bot"]
