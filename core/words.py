"""Text as Linli compares it: full-width → half-width, traditional → simplified, one space."""
from __future__ import annotations

import unicodedata

import opencc

_TO_SIMPLIFIED = opencc.OpenCC("t2s")


def normalise(text: str) -> str:
    """For matching only; what people wrote is stored as they wrote it."""
    text = unicodedata.normalize("NFKC", text).strip()
    return " ".join(_TO_SIMPLIFIED.convert(text).split())


def clip(value: str | None, limit: int) -> str | None:
    """A value cut to fit its column (None stays None, empty becomes None)."""
    if value is None:
        return None
    value = value.replace("\x00", "").strip()
    return value[:limit] or None


def as_written(original: str, tail: str) -> str:
    """The end of `original` that normalises to `tail`, as the person wrote it (full-width
    "，" kept): commands are matched on normalised words, but what they carry is stored."""
    guess = max(0, len(original) - len(tail))
    for start in sorted(range(len(original) + 1), key=lambda i: abs(i - guess))[:64]:
        if normalise(original[start:]) == tail:
            return original[start:].strip()
    return tail
