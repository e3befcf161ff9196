"""What every command shares: the configuration and one unit of work on its database."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from core.clock import SYSTEM
from core.config import Config
from core.db import make_engine, make_session_factory, transaction
from domain.errors import Refused
from domain.unit import Unit


@contextmanager
def unit(config: Config) -> Iterator[Unit]:
    """One transaction for one command; a refusal ends the command with its reason (exit 1)."""
    engine = make_engine(config.database.url)
    try:
        with transaction(make_session_factory(engine)) as session:
            yield Unit(session, config, SYSTEM)
    except Refused as refusal:
        raise SystemExit(f"refused: {refusal.message}") from None
    finally:
        engine.dispose()
