"""The one error a use case raises when it says no."""
from __future__ import annotations

from core.texts import text


class Refused(Exception):
    """A refusal a person can read: `key` names the catalogue text, `values` fill it."""

    def __init__(self, key: str, **values: object):
        super().__init__(key)
        self.key, self.values = key, values

    @property
    def message(self) -> str:
        return text(self.key, **self.values)

    def __str__(self) -> str:
        return self.message
