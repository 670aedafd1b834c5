"""Logs an operator can search and nobody can mine: one JSON object per line, redacted.

Every line carries the request id of the HTTP request or websocket it came
from. Whatever a message says, a RUN is masked to its last digits and
anything shaped like a token, code or secret is replaced before it is written.
"""

from __future__ import annotations

import contextvars
import datetime
import json
import logging
import re
import secrets

REQUEST_ID: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")

# 12.345.678-5, 12345678-5, 1.234.567-K
_RUN = re.compile(r"\b(\d{1,2})\.?(\d{3})\.?(\d{3})-([\dkK])\b")
# JWTs, authorization codes, session ids, HMACs: long runs of base64url or hex characters
# (without "/", so that URL paths survive).
_TOKEN = re.compile(r"[A-Za-z0-9_\-.]{32,}={0,2}")


def redact(text: str) -> str:
    text = _TOKEN.sub("[redacted]", text)
    return _RUN.sub(lambda match: f"**.***.{match.group(3)[-3:]}-{match.group(4)}", text)


def new_request_id() -> str:
    return secrets.token_hex(6)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        document = {
            "time": datetime.datetime.fromtimestamp(record.created, datetime.UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        request_id = REQUEST_ID.get()
        if request_id:
            document["request"] = request_id
        contact = getattr(record, "contact", None)
        if contact:
            document["contact"] = str(contact)
        if record.exc_info:
            document["error"] = redact(self.formatException(record.exc_info))
        return json.dumps(document, ensure_ascii=False)


def use_json_logs(level: int = logging.INFO) -> None:
    """Replace the root handlers' format with one JSON object per line."""
    root = logging.getLogger()
    if not root.handlers:
        root.addHandler(logging.StreamHandler())
    for handler in root.handlers:
        handler.setFormatter(JsonFormatter())
    root.setLevel(level)
