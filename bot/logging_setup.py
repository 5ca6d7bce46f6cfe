"""Logging that cannot leak secrets.

discord.py logs interaction webhook URLs (which embed the interaction token) and request bodies at
DEBUG, and httpx logs full URLs at INFO. Their loggers are kept quiet, and a filter on every handler
scrubs the configured secrets and any webhook/interaction token that still reaches a record.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable

# /webhooks/<application id>/<interaction token> and /interactions/<id>/<token>/callback
_TOKEN_PATHS = re.compile(r"(/(?:webhooks|interactions)/\d+/)([A-Za-z0-9_.\-]{20,})")
_BEARER = re.compile(r"(?i)(bearer\s+)[A-Za-z0-9_.\-]+")
REDACTED = "[redacted]"

_NOISY_LOGGERS = ("discord.http", "discord.webhook", "discord.gateway", "httpx", "httpcore", "aiosqlite")


class RedactingFilter(logging.Filter):
    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._secrets = sorted({s for s in secrets if len(s) >= 6}, key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        text = _TOKEN_PATHS.sub(rf"\1{REDACTED}", text)
        return _BEARER.sub(rf"\1{REDACTED}", text)

    def filter(self, record: logging.LogRecord) -> bool:
        # Render once, then freeze the redacted text so formatters cannot re-expand the arguments.
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        record.msg = self.redact(message)
        record.args = None
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        return True


def setup_logging(level: str, secrets: Iterable[str] = ()) -> RedactingFilter:
    """Configure the root logger once: one stderr handler, redaction on it, noisy libraries quiet."""
    root = logging.getLogger()
    redactor = RedactingFilter(secrets)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    handler.addFilter(redactor)
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # Even at DEBUG these libraries stay at WARNING: their DEBUG/INFO lines carry tokens and URLs.
    for name in _NOISY_LOGGERS:
        logging.getLogger(name).setLevel(max(logging.WARNING, logging.getLevelName(level)))
    return redactor
