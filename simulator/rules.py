"""WeChat's checks on template and subscription-notification data, as the platform applies
them (written independently of the bot's own formatting, so a test that passes means the
bot obeyed the platform, not itself).

Template messages: every keyword of the template must be given (and nothing else); a
value is shown on one line, cut to 20 characters by the phone. Subscription notifications
are checked strictly per keyword type and refused with 47003 when a value breaks its rule.
"""
from __future__ import annotations

import re

from simulator.errors import ApiError

TEMPLATE_SHOWN = 20
_TIME = re.compile(r"^(\d{4}年\d{1,2}月\d{1,2}日 ?)?\d{1,2}:\d{2}(:\d{2})?"
                   r"( ?~ ?(\d{4}年\d{1,2}月\d{1,2}日 ?)?\d{1,2}:\d{2}(:\d{2})?)?$|"
                   r"^\d{4}年\d{1,2}月\d{1,2}日( \d{1,2}:\d{2})?$|"
                   r"^\d{4}-\d{2}-\d{2}( \d{2}:\d{2}(:\d{2})?)?$")
_DATE = re.compile(r"^\d{4}年\d{1,2}月\d{1,2}日$|^\d{4}-\d{2}-\d{2}$")
_CODE = re.compile(r"^[0-9A-Za-z_\-.:/#@]+$")
_HAN = re.compile(r"^[\u4e00-\u9fff]+$")
_EMOJI = re.compile("[\U00010000-\U0010ffff\u2600-\u27bf]")
# type → (maximum length, extra check)
SUBSCRIPTION_TYPES = {
    "thing": (20, None), "character_string": (32, _CODE), "number": (32, re.compile(r"^\d+(\.\d+)?$")),
    "letter": (32, re.compile(r"^[A-Za-z]+$")), "symbol": (5, None), "phrase": (5, _HAN),
    "name": (10, None), "phone_number": (17, re.compile(r"^[0-9+\-() ]+$")),
    "car_number": (8, None), "amount": (32, re.compile(r"^[¥￥]?\d+(\.\d{1,2})?元?$")),
    "time": (40, _TIME), "date": (20, _DATE),
}


def keyword_type(key: str) -> str:
    return re.sub(r"\d+$", "", key)


def _value(data: dict, key: str) -> str:
    item = data.get(key)
    if not isinstance(item, dict) or not isinstance(item.get("value"), str) or not item["value"]:
        raise ApiError(47003, f"argument invalid! data.{key}.value is empty")
    return item["value"]


def _same_keys(data: dict, keys: dict) -> None:
    unknown = sorted(set(data) - set(keys))
    if unknown:
        raise ApiError(47003, f"argument invalid! data.{unknown[0]} not exist in template")


def template_fields(data: dict, keys: dict[str, str]) -> list[dict]:
    """Label and value as the phone shows them: one line, at most 20 characters."""
    _same_keys(data, keys)
    shown = []
    for key, label in keys.items():
        value = " ".join(_value(data, key).split())
        if len(value) > TEMPLATE_SHOWN:
            value = value[:TEMPLATE_SHOWN - 1] + "…"
        shown.append({"key": key, "label": label, "value": value})
    return shown


def subscription_fields(data: dict, keys: dict[str, str]) -> list[dict]:
    """The values, checked by type; any broken rule refuses the whole message."""
    _same_keys(data, keys)
    shown = []
    for key, label in keys.items():
        value = _value(data, key)
        limit, pattern = SUBSCRIPTION_TYPES.get(keyword_type(key), (20, None))
        if len(value) > limit or "\n" in value or _EMOJI.search(value) \
                or (pattern is not None and not pattern.match(value)):
            raise ApiError(47003, f"argument invalid! data.{key}.value invalid")
        shown.append({"key": key, "label": label, "value": value})
    return shown
