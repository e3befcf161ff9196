"""What people type for the time bank: durations and service dates.

Durations: '2', '1.5', '90分钟', '九十分钟', '1小时30分', '两个半小时', '两个钟', '一个半钟',
'个半钟', '半个钟', '1个半小时' → minutes on the configured grid. Dates: 今天/今日,
昨天/昨日/琴日, 前天/前日, 上周三, 11月20日, 2026-11-20 → a day neither in the future nor
too far back (12月30日 typed in January is last December). Refusals are `Refused`.
"""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta

from core.config import Config
from core.numbers import chinese_number, to_decimal, to_int
from core.words import normalise
from domain.errors import Refused

_HOUR = r"(?:个小时|小时|个钟头|钟头|个钟|钟|h|hr|hours?)"
_MINUTE = r"(?:分钟|分|min|mins|minutes?)"
_NUMBER = r"([0-9]+(?:\.[0-9]+)?|[零一二两三四五六七八九十百]+)"
_FORMS = [
    (re.compile(rf"^{_NUMBER}$"), lambda m: _n(m, 1) * 60),
    (re.compile(rf"^{_NUMBER}{_HOUR}$"), lambda m: _n(m, 1) * 60),
    (re.compile(rf"^{_NUMBER}{_MINUTE}$"), lambda m: _n(m, 1)),
    (re.compile(rf"^{_NUMBER}{_HOUR}{_NUMBER}{_MINUTE}?$"), lambda m: _n(m, 1) * 60 + _n(m, 2)),
    (re.compile(rf"^半个?{_HOUR}$"), lambda m: 30),
    # "两个半钟", and Cantonese "个半钟" (one and a half)
    (re.compile(rf"^(?:{_NUMBER}个?|个)半{_HOUR}$"), lambda m: (_n(m, 1) if m.group(1) else 1) * 60 + 30),
]
_WEEKDAYS = "一二三四五六日天"
_NAMED_DAYS = {"今天": 0, "今日": 0, "昨天": 1, "昨日": 1, "琴日": 1, "寻日": 1,
               "前天": 2, "前日": 2}


def _n(match: re.Match, group: int) -> float:
    raw = match.group(group)
    value = to_decimal(raw) if raw[0].isdigit() else chinese_number(raw)
    if value is None:
        raise Refused("tb_bad_duration")
    return float(value)


def parse_duration(raw: str, config: Config, daily_limit: bool = True) -> int:
    """Minutes, on the configured grid (and, for a day's service, within the daily maximum)."""
    value = normalise(raw or "").replace(" ", "").lower()
    if len(value) > 20:
        raise Refused("tb_bad_duration")
    minutes = None
    for pattern, reading in _FORMS:
        match = pattern.match(value)
        if match:
            minutes = reading(match)
            break
    if minutes is None or minutes <= 0:
        raise Refused("tb_bad_duration")
    tb = config.timebank
    if minutes > tb.cap_minutes:
        raise Refused("tb_amount_too_large", limit=f"{tb.balance_cap_hours:g}")
    if not float(minutes).is_integer() or int(minutes) % tb.granularity_minutes:
        raise Refused("tb_duration_step", step=tb.granularity_minutes)
    if daily_limit and minutes > tb.daily_max_hours * 60:
        raise Refused("tb_duration_too_long", limit=f"{tb.daily_max_hours:g}")
    return int(minutes)


def parse_signed_duration(raw: str, config: Config) -> int:
    """'+1', '-0.5', '2小时' → signed minutes for a staff adjustment (no daily maximum)."""
    raw = normalise(raw or "")
    minutes = parse_duration(raw.lstrip("+-"), config, daily_limit=False)
    return -minutes if raw.startswith("-") else minutes


def parse_date(raw: str, config: Config, now: datetime) -> date:
    """A service day, neither in the future nor more than `timebank.max_back_days` ago."""
    today = now.astimezone(config.tz).date()
    value = normalise(raw or "").replace(" ", "")
    day = _read_day(value, today)
    if day is None:
        raise Refused("tb_bad_date")
    if day > today:
        raise Refused("tb_future_date")
    if (today - day).days > config.timebank.max_back_days:
        raise Refused("tb_too_far_back", days=config.timebank.max_back_days)
    return day


def _read_day(value: str, today: date) -> date | None:
    if value in _NAMED_DAYS:
        return today - timedelta(days=_NAMED_DAYS[value])
    if m := re.fullmatch(rf"(上|这|本)?(?:周|星期|礼拜)([{_WEEKDAYS}])", value):
        weekday = min(_WEEKDAYS.index(m.group(2)), 6)
        monday = today - timedelta(days=today.weekday()) - timedelta(weeks=1 if m.group(1) == "上" else 0)
        return monday + timedelta(days=weekday)
    try:
        if m := re.fullmatch(r"(\d{1,2}|[一二三四五六七八九十]+)月(\d{1,2}|[一二三四五六七八九十]+)[日号]?", value):
            return _this_or_last_year(today, to_int(m.group(1), 12), to_int(m.group(2), 31))
        if m := re.fullmatch(r"(\d{1,2})[-/.](\d{1,2})", value):
            return _this_or_last_year(today, int(m.group(1)), int(m.group(2)))
        if re.fullmatch(r"\d{4}-\d{1,2}-\d{1,2}", value):
            year, month, day = (int(p) for p in value.split("-"))
            return date(year, month, day)
    except (TypeError, ValueError):
        return None
    return None


def _this_or_last_year(today: date, month: int | None, day: int | None) -> date:
    """A month and day without a year: this year's, unless that is more than half a year
    ahead (12月30日 typed in January means last December)."""
    if not month or not day:
        raise ValueError("no such day")
    candidate = date(today.year, month, day)
    return candidate if (candidate - today).days <= 183 else date(today.year - 1, month, day)
