"""What residents and staff type for the time bank: durations and service dates.

'2', '1.5', '90分钟', '两个半小时' → minutes on the configured grid; 今天 / 昨天 /
11月20日 → a date neither in the future nor too far back. Refusals are
TimebankError with the catalogue key that explains them.
"""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta

from bot.config import Config
from bot.timebank import TimebankError, cfg

_DURATION = re.compile(r"^(?:(\d+(?:\.\d+)?)\s*(?:小时|个小时|h|钟头)?)?\s*(?:(\d+)\s*(?:分钟|分|min))?$")
_CHINESE_DIGITS = {"半": 0.5, "一": 1, "两": 2, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6,
                   "七": 7, "八": 8, "九": 9, "十": 10}


def parse_duration(raw: str, config: Config, daily_limit: bool = True) -> int:
    """'2', '1.5', '90分钟', '1小时30分', '两个半小时' → minutes, on the configured grid
    (and, for a day's service, within the daily maximum)."""
    value = raw.strip().replace(" ", "")
    value = re.sub(r"^([一二两三四五六七八九十])个?半(?:个)?小时$",
                   lambda m: f"{_CHINESE_DIGITS[m.group(1)] + 0.5}小时", value)
    value = re.sub(r"^([一二两三四五六七八九十])个?小时$",
                   lambda m: f"{_CHINESE_DIGITS[m.group(1)]}小时", value)
    value = {"半小时": "30分钟", "半个小时": "30分钟"}.get(value, value)
    match = _DURATION.match(value)
    if not value or not match or not any(match.groups()):
        raise TimebankError("tb_bad_duration")
    minutes = round(float(match.group(1) or 0) * 60) + int(match.group(2) or 0)
    if minutes <= 0:
        raise TimebankError("tb_bad_duration")
    step = int(cfg(config, "granularity_minutes", 30))
    if minutes % step:
        raise TimebankError("tb_duration_step", step=step)
    if daily_limit and minutes > float(cfg(config, "daily_max_hours", 12)) * 60:
        raise TimebankError("tb_duration_too_long", limit=cfg(config, "daily_max_hours", 12))
    return minutes


def parse_date(raw: str, config: Config, now: datetime) -> date:
    """今天 / 昨天 / 前天 / 2026-11-20 / 11月20日 / 11-20, not in the future nor too far back."""
    today = now.astimezone(config.tz).date()
    value = raw.strip()
    named = {"今天": 0, "昨天": 1, "前天": 2}
    try:
        if value in named:
            day = today - timedelta(days=named[value])
        elif m := re.fullmatch(r"(\d{1,2})月(\d{1,2})[日号]?", value):
            day = date(today.year, int(m.group(1)), int(m.group(2)))
        elif m := re.fullmatch(r"(\d{1,2})-(\d{1,2})", value):
            day = date(today.year, int(m.group(1)), int(m.group(2)))
        else:
            day = date.fromisoformat(value)
    except ValueError:
        raise TimebankError("tb_bad_date") from None
    if day > today:
        raise TimebankError("tb_future_date")
    if (today - day).days > int(cfg(config, "max_back_days", 30)):
        raise TimebankError("tb_too_far_back", days=cfg(config, "max_back_days", 30))
    return day


def parse_signed_duration(raw: str, config: Config) -> int:
    """'+1', '-0.5', '2小时' → signed minutes for a staff adjustment (no daily maximum)."""
    raw = raw.strip()
    minutes = parse_duration(raw.lstrip("+-"), config, daily_limit=False)
    return -minutes if raw.startswith("-") else minutes
