"""Chinese working days: public holidays and the adjusted working days (调休).

From the maintained `chinesecalendar` package; for a year it does not know yet, Monday to
Friday (staff can list the official days in config once the State Council publishes them).
"""
from __future__ import annotations

from datetime import date

import chinese_calendar


def is_workday(day: date) -> bool:
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:
        return day.weekday() < 5
