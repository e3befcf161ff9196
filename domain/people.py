"""How people are named and shown: the name a resident gave, masked where the public sees it."""
from __future__ import annotations

import re

from core.texts import text
from models import Resident

MOBILE_IN_TEXT = re.compile(r"(?<!\d)(1[3-9]\d)\d{4}(\d{4})(?!\d)")
ID_IN_TEXT = re.compile(r"(?<![0-9A-Za-z])(\d{6})\d{8}(\d{3}[0-9Xx])(?![0-9A-Za-z])")
LANDLINE_IN_TEXT = re.compile(r"(?<!\d)(0\d{2,3})-?\d{7,8}(?!\d)")


def person_name(resident: Resident | None) -> str:
    """The name or form of address the resident gave, else 居民#id."""
    if resident is None:
        return text("nobody")
    return resident.name or text("unnamed", id=resident.id)


def mask_name(name: str | None) -> str:
    """张三 → 张*, 欧阳娜娜 → 欧***: a person as public output shows them."""
    if not name:
        return ""
    return f"{name[0]}{'*' * max(1, len(name) - 1)}"


def mask_numbers(words: str) -> str:
    """Mobile, ID-card and landline numbers in free text, masked (138****5678)."""
    words = ID_IN_TEXT.sub(lambda m: f"{m.group(1)}********{m.group(2)}", words)
    words = MOBILE_IN_TEXT.sub(lambda m: f"{m.group(1)}****{m.group(2)}", words)
    return LANDLINE_IN_TEXT.sub(lambda m: f"{m.group(1)}-********", words)
