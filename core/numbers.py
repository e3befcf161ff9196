"""Reading numbers people type: ASCII and full-width digits, Chinese numerals, bounded length.

Every place that reads a number (menu choices, list numbers, record ids,
hours) goes through here, so '፩', '²' or a 5,000-digit string is simply "not
a number" — a kind answer follows — and never an exception.
"""
from __future__ import annotations

import re
import unicodedata

import cn2an

# Long enough for any id or count Linli uses; longer input is not a number we accept.
MAX_DIGITS = 9
_ASCII_INT = re.compile(r"[0-9]{1,%d}" % MAX_DIGITS)
_ASCII_DECIMAL = re.compile(r"[0-9]{1,6}(?:\.[0-9]{1,3})?")
_CHINESE = re.compile(r"[零〇一二两三四五六七八九十百千万]{1,8}")


def _clean(raw: str | None) -> str:
    return unicodedata.normalize("NFKC", raw or "").strip()


def chinese_number(raw: str) -> int | None:
    """'三' → 3, '十二' → 12, '两' → 2, '一百零五' → 105; None for anything else."""
    if not _CHINESE.fullmatch(raw):
        return None
    try:
        value = cn2an.cn2an(raw, "smart")
    except (ValueError, KeyError):
        return None
    return int(value) if float(value).is_integer() else None


def to_int(raw: str | None, max_value: int = 10 ** MAX_DIGITS - 1) -> int | None:
    """A whole number from '12', '１２' or '十二' (at most `max_value`); None otherwise."""
    value = _clean(raw)
    if _ASCII_INT.fullmatch(value):
        number = int(value)
    else:
        number = chinese_number(value)
    return number if number is not None and 0 <= number <= max_value else None


def to_decimal(raw: str | None, max_value: float = 100_000) -> float | None:
    """'1.5', '１.５', '2' or '两' as a number (at most `max_value`); None otherwise."""
    value = _clean(raw)
    if _ASCII_DECIMAL.fullmatch(value):
        number: float | None = float(value)
    else:
        whole = chinese_number(value)
        number = float(whole) if whole is not None else None
    return number if number is not None and 0 <= number <= max_value else None


def numbered_choice(raw: str | None, count: int) -> int | None:
    """The 1-based choice among `count` items, or None when it is not one of them."""
    number = to_int(raw, max_value=count)
    return number if number is not None and number >= 1 else None


def record_id(raw: str | None, prefix: str) -> int | None:
    """'S12', 's12', 'S１２' → 12 for prefix 'S'; None when malformed or too long."""
    value = _clean(raw).upper()
    if not value.startswith(prefix):
        return None
    return to_int(value[len(prefix):]) if _ASCII_INT.fullmatch(value[len(prefix):]) else None
