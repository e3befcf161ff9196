"""Logging set-up: one line per event, key=value, never a secret."""
from __future__ import annotations

import logging
import os


def configure_logging() -> None:
    """Configure the root logger once (idempotent across app factories)."""
    root = logging.getLogger()
    if getattr(root, "_linli_configured", False):
        return
    logging.basicConfig(level=os.environ.get("LINLI_LOG_LEVEL", "INFO"),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # requests/urllib3 would log full URLs, which carry the access token and secret.
    logging.getLogger("urllib3").setLevel(logging.WARNING)
    root._linli_configured = True
