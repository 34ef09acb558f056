"""Dates the law counts: calendar-day and working-day periods.

Rules (民事诉讼法 art. 85): the start day is not counted; a period ending on a holiday ends on
the next working day. Working days follow the State Council's yearly notice, including weekend
days turned into working days (调休), from the chinese-calendar package. A date outside the
years it knows is refused loudly, never guessed.
"""
from __future__ import annotations

from datetime import date, timedelta

import chinese_calendar
from flask_babel import gettext as _

from .errors import DomainError


class CalendarUnknown(DomainError):
    """The working-day calendar does not know the year asked about."""


def is_workday(day: date) -> bool:
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError as exc:
        raise CalendarUnknown(
            _("The working-day calendar does not cover %(year)s yet: an administrator must enter that "
              "year's holiday schedule.", year=day.year)) from exc


def add_working_days(start: date, days: int) -> date:
    """The date `days` working days after `start` (start day not counted)."""
    if days < 1:
        raise ValueError("days must be positive")
    current, counted = start, 0
    while counted < days:
        current += timedelta(days=1)
        if is_workday(current):
            counted += 1
    return current


def add_calendar_days(start: date, days: int, *, roll_to_workday: bool = True) -> date:
    """`days` calendar days after `start`; a period ending on a holiday ends on the next working day."""
    end = start + timedelta(days=days)
    if roll_to_workday:
        while not is_workday(end):
            end += timedelta(days=1)
    return end


def add_years(start: date, years: int) -> date:
    try:
        return start.replace(year=start.year + years)
    except ValueError:  # 29 February
        return start.replace(year=start.year + years, day=28)


def covers(year: int) -> bool:
    """Whether the working-day calendar knows `year` (probed on 1 July, mid-year)."""
    try:
        is_workday(date(year, 7, 1))
    except CalendarUnknown:
        return False
    return True


def coverage_warning(today: date) -> str | None:
    """A warning while deadlines may soon fall in a year the calendar does not know.

    The State Council publishes the next year's holidays in October or November; from November on,
    a 20-working-day deadline can already reach January, so staff are told before a date is refused.
    """
    if not covers(today.year):
        year = today.year
    elif today.month >= 11 and not covers(today.year + 1):
        year = today.year + 1
    else:
        return None
    return _("The working-day calendar does not cover %(year)s: deadlines that fall in %(year)s cannot be "
             "computed until the package chinese-calendar is updated with that year's holiday schedule.",
             year=year)
