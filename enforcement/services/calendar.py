"""Dates the law counts: calendar-day and working-day periods.

Rules (民事诉讼法 art. 85): the start day is not counted; a period ending on a holiday ends on
the next working day. Working days follow the State Council's yearly notice, including weekend
days turned into working days (调休), from the chinese-calendar package, and then the local
overrides an admin keeps (table calendar_overrides), which win. A date outside the years the
package knows, and with no override, is refused loudly, never guessed.
"""
from __future__ import annotations

from datetime import date, timedelta

import chinese_calendar
from flask_babel import gettext as _
from sqlalchemy import select

from ..extensions import db
from ..models import CalendarOverride
from . import audit
from .errors import DomainError, PermissionDenied


class CalendarUnknown(DomainError):
    """The working-day calendar does not know the year asked about."""


def _overrides(first: date, last: date) -> dict[date, bool]:
    rows = db.session.execute(select(CalendarOverride.day, CalendarOverride.workday)
                              .where(CalendarOverride.day.between(first, last)))
    return {day: workday for day, workday in rows}


def is_workday(day: date, overrides: dict[date, bool] | None = None) -> bool:
    """Whether `day` is a working day: a local override if there is one, else the national schedule.

    `overrides` (from `_overrides`) saves a query per day when a caller walks a period.
    """
    if overrides is None:
        overrides = _overrides(day, day)
    if day in overrides:
        return overrides[day]
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
    # Working days are at most a week's holiday apart: this window always holds the answer.
    overrides = _overrides(start, start + timedelta(days=days * 3 + 30))
    current, counted = start, 0
    while counted < days:
        current += timedelta(days=1)
        if is_workday(current, overrides):
            counted += 1
    return current


def working_days_between(start: date, end: date) -> int:
    """How many working days lie after `start` up to and including `end` (0 when `end` <= `start`):
    the days left until a deadline. Raises CalendarUnknown for a year the calendar does not know."""
    if end <= start:
        return 0
    overrides = _overrides(start, end)
    count, current = 0, start
    while current < end:
        current += timedelta(days=1)
        count += is_workday(current, overrides)
    return count


def add_calendar_days(start: date, days: int, *, roll_to_workday: bool = True, lenient: bool = False) -> date:
    """`days` calendar days after `start`; a period ending on a holiday ends on the next working day.

    `lenient`: where the calendar does not know the year of the end yet, roll past Saturdays and
    Sundays only instead of raising CalendarUnknown (for a figure shown on a page; a gate that
    must be exact checks `covers` itself)."""
    end = start + timedelta(days=days)
    if roll_to_workday:
        try:
            overrides = _overrides(end, end + timedelta(days=30))
            while not is_workday(end, overrides):
                end += timedelta(days=1)
        except CalendarUnknown:
            if not lenient:
                raise
            while end.weekday() >= 5:
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


# --- local overrides ------------------------------------------------------------------------------

OVERRIDE_FIELDS = ("day", "workday", "reason")


def can_manage_calendar(user) -> bool:
    """Overrides hold for every body of the installation: admins of the top-level body keep them."""
    from .permissions import can_manage_master_data

    return can_manage_master_data(user) and user.body.parent_id is None


def list_overrides(*, since: date | None = None) -> list[CalendarOverride]:
    query = select(CalendarOverride).order_by(CalendarOverride.day)
    if since is not None:
        query = query.where(CalendarOverride.day >= since)
    return list(db.session.scalars(query))


def set_override(*, actor, day: date, workday: bool, reason: str) -> CalendarOverride:
    """Declare `day` a working day or a day off, with the reason (e.g. the county's notice)."""
    if not can_manage_calendar(actor):
        raise PermissionDenied(_("Only an administrator of the top-level body keeps the calendar."))
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_("Give the reason for the change, e.g. the notice that decided it."))
    if len(reason) > 200:
        raise DomainError(_("The reason is longer than %(limit)s characters.", limit=200))
    row = db.session.get(CalendarOverride, day)
    before = audit.snapshot(row, OVERRIDE_FIELDS) if row is not None else None
    if row is None:
        row = CalendarOverride(day=day)
        db.session.add(row)
    row.workday, row.reason, row.created_by_id = bool(workday), reason, actor.id
    db.session.flush()
    audit.record("calendar.override_set", "calendar", day.isoformat(), day.isoformat(), actor=actor,
                 before=before, after=audit.snapshot(row, OVERRIDE_FIELDS))
    return row


def remove_override(*, actor, day: date) -> None:
    if not can_manage_calendar(actor):
        raise PermissionDenied(_("Only an administrator of the top-level body keeps the calendar."))
    row = db.session.get(CalendarOverride, day)
    if row is None:
        raise DomainError(_("There is no local change for %(day)s.", day=day.isoformat()))
    before = audit.snapshot(row, OVERRIDE_FIELDS)
    db.session.delete(row)
    db.session.flush()
    audit.record("calendar.override_removed", "calendar", day.isoformat(), day.isoformat(), actor=actor,
                 before=before)

