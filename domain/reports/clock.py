"""The work-order clock (as 12345 hotlines run it): deadlines in working hours.

A window of N working hours runs only on working days — Chinese public holidays and the
adjusted working days (调休) from `chinesecalendar`, with `reports.clock.holidays` /
`workdays` for a year it does not know yet — between `opens` and `closes` local time.
A filing at 20:00 on a Friday before 国庆 starts counting on the first working morning
after the holiday. Calendar-hour categories (urgent safety matters) just add hours.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta

from core.config import Config
from core.workdays import is_workday

MAX_DAYS = 400  # no window outlasts a year of holidays


def working_day(config: Config, day: date) -> bool:
    clock = config.reports.clock
    if day in clock.holidays:
        return False
    if day in clock.workdays:
        return True
    return is_workday(day)


def _at(day: datetime, hhmm: str) -> datetime:
    hour, minute = (int(part) for part in hhmm.split(":"))
    return day.replace(hour=hour, minute=minute, second=0, microsecond=0)


def due(config: Config, start: datetime, hours: float, working: bool = True) -> datetime:
    """When a window of `hours` that opens at `start` closes."""
    if not working:
        return start + timedelta(hours=hours)
    clock, left = config.reports.clock, timedelta(hours=hours)
    moment = start.astimezone(config.tz)
    for _ in range(MAX_DAYS):
        opens, closes = _at(moment, clock.opens), _at(moment, clock.closes)
        if working_day(config, moment.date()) and moment < closes:
            begin = max(moment, opens)
            if begin + left <= closes:
                return (begin + left).astimezone(start.tzinfo)
            left -= closes - begin
        moment = _at(moment + timedelta(days=1), "00:00")
    raise ValueError("no working time found within a year")


def warn_point(config: Config, start: datetime, hours: float, working: bool = True) -> datetime:
    """When the assignee is warned (临期预警): `reports.warn_share` of the window gone."""
    return due(config, start, hours * config.reports.warn_share, working)
