"""Logging set-up: one line per event, and never a secret, whatever a library prints.

HTTP libraries put full URLs in their exceptions (`…/cgi-bin/token?secret=…`), and
a scheduler logs a failed job's traceback: every formatted line passes through
`Redacting`, which blanks query values that carry credentials.
"""
from __future__ import annotations

import logging
import os
import re

# A whole key only: `errcode=40003` (WeChat's result) stays readable, an OAuth `code=` does not.
SECRET_PARAMS = re.compile(r"((?<![A-Za-z_])(?:secret|access_token|appsecret|refresh_token|code|ticket)=)"
                           r"[^&\s'\")]+", re.IGNORECASE)


class Redacting(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return SECRET_PARAMS.sub(r"\1***", super().format(record))


def configure_logging() -> None:
    """Configure the root logger once (idempotent across app factories)."""
    root = logging.getLogger()
    if getattr(root, "_linli_configured", False):
        return
    logging.basicConfig(level=os.environ.get("LINLI_LOG_LEVEL", "INFO"))
    for handler in root.handlers:
        handler.setFormatter(Redacting("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    # requests/urllib3 would log full URLs, which carry the access token and secret.
    logging.getLogger("urllib3").setLevel(logging.WARNING)
    root._linli_configured = True
