"""The message catalogue: every sentence a person reads, by audience, in one place.

Keys are English, values Simplified Chinese `str.format` templates: `resident`
(chat replies and pushes), `staff` (staff chat commands, digests, refusals staff
read), `console` (the web console). `vocab` holds the words Linli accepts as
answers (yes/no, done, skip …). Keep replies short and always say how to go on.
"""
from __future__ import annotations

from core.texts import console, deliberation, meetings, oversight, pages, resident, staff, timebank


def _merge(*parts: dict[str, str]) -> dict[str, str]:
    merged: dict[str, str] = {}
    for part in parts:
        clash = merged.keys() & part.keys()
        if clash:
            raise RuntimeError(f"catalogue keys defined twice: {sorted(clash)}")
        merged.update(part)
    return merged


TEXTS: dict[str, str] = _merge(resident.TEXTS, meetings.TEXTS, pages.TEXTS, staff.TEXTS, console.TEXTS,
                               oversight.TEXTS, deliberation.TEXTS, timebank.TEXTS)


def text(key: str, **values: object) -> str:
    """The catalogue entry `key` filled with `values`."""
    template = TEXTS[key]
    if "{menu_hint}" in template and "menu_hint" not in values:
        values["menu_hint"] = TEXTS["menu_hint"]
    return template.format(**values)
