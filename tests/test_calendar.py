"""Specification of the legal calendar (services.calendar).

Counting rules (民事诉讼法 art. 85; 行政处罚法 art. 85): the start day is not counted, working days
follow the State Council's holiday notice including weekend days turned into working days (调休),
a period ending on a holiday ends on the next working day, and a year the calendar does not know
is refused, never guessed.
"""
from __future__ import annotations

from datetime import date

import pytest

from enforcement.services import calendar
from enforcement.services.calendar import CalendarUnknown

# The calendar needs no database: one backend is enough.
pytestmark = pytest.mark.sqlite_only


def test_five_working_days_over_national_day_2026_end_on_13_october(app):
    # 10-03 … 10-07 are holidays, 10-08 and 10-09 count, Saturday 10-10 is a 调休 working day,
    # Sunday 10-11 is not, 10-12 and 10-13 count. chinese_calendar.find_workday says 10-14 (wrong).
    assert calendar.add_working_days(date(2026, 10, 3), 5) == date(2026, 10, 13)


def test_start_day_is_not_counted(app):
    # Monday 2026-11-23 + 1 working day is Tuesday, not Monday itself.
    assert calendar.add_working_days(date(2026, 11, 23), 1) == date(2026, 11, 24)


def test_a_tiaoxiu_saturday_counts_as_a_working_day(app):
    # Saturday 2026-10-10 is a working day by the 2026 notice; the day after Friday 10-09 is it.
    assert calendar.is_workday(date(2026, 10, 10)) is True
    assert calendar.add_working_days(date(2026, 10, 9), 1) == date(2026, 10, 10)
    # Sunday 2026-09-20 is also a 调休 working day (for National Day).
    assert calendar.add_working_days(date(2026, 9, 19), 1) == date(2026, 9, 20)


def test_an_ordinary_weekend_does_not_count(app):
    # Friday 2026-11-20 + 1 working day is Monday 11-23.
    assert calendar.add_working_days(date(2026, 11, 20), 1) == date(2026, 11, 23)


def test_statutory_holidays_do_not_count_even_on_weekdays(app):
    assert calendar.is_workday(date(2026, 10, 1)) is False  # Thursday, National Day
    # Wednesday 2026-09-30 + 1 working day: 10-01 … 10-07 are holidays, so 10-08.
    assert calendar.add_working_days(date(2026, 9, 30), 1) == date(2026, 10, 8)


def test_a_year_the_calendar_does_not_know_is_refused_with_a_message(app):
    with pytest.raises(CalendarUnknown) as exc:
        calendar.add_working_days(date(2026, 12, 30), 5)  # runs into 2027
    assert "2027" in exc.value.message
    with pytest.raises(CalendarUnknown):
        calendar.is_workday(date(2027, 3, 1))


def test_calendar_days_ending_on_a_holiday_roll_to_the_next_working_day(app):
    # 2026-09-24 + 7 calendar days = 10-01 (National Day): the period ends on 10-08.
    assert calendar.add_calendar_days(date(2026, 9, 24), 7) == date(2026, 10, 8)
    # Without rolling the raw date stays.
    assert calendar.add_calendar_days(date(2026, 9, 24), 7, roll_to_workday=False) == date(2026, 10, 1)


def test_calendar_days_ending_on_a_weekend_roll_to_monday_but_not_a_tiaoxiu_saturday(app):
    # 2026-11-14 + 7 = Saturday 11-21: ends on Monday 11-23.
    assert calendar.add_calendar_days(date(2026, 11, 14), 7) == date(2026, 11, 23)
    # 2026-10-03 + 7 = Saturday 10-10, a 调休 working day: the period ends that day.
    assert calendar.add_calendar_days(date(2026, 10, 3), 7) == date(2026, 10, 10)


def test_calendar_days_ending_on_a_working_day_stay(app):
    assert calendar.add_calendar_days(date(2026, 11, 2), 15) == date(2026, 11, 17)


def test_calendar_days_ending_in_an_unknown_year_are_refused(app):
    with pytest.raises(CalendarUnknown):
        calendar.add_calendar_days(date(2026, 12, 1), 90)


def test_working_days_must_be_positive(app):
    with pytest.raises(ValueError):
        calendar.add_working_days(date(2026, 10, 3), 0)


def test_add_years_keeps_the_day_and_handles_29_february(app):
    assert calendar.add_years(date(2024, 3, 1), 2) == date(2026, 3, 1)
    assert calendar.add_years(date(2024, 2, 29), 2) == date(2026, 2, 28)


# --- the calendar running out ------------------------------------------------------------------------

@pytest.fixture
def known_until_2026(monkeypatch):
    monkeypatch.setattr(calendar, "covers", lambda year: year <= 2026)


def test_no_warning_before_november_when_this_year_is_known(app, known_until_2026):
    assert calendar.coverage_warning(date(2026, 10, 31)) is None


def test_from_november_a_missing_next_year_is_warned_about(app, known_until_2026):
    assert "2027" in calendar.coverage_warning(date(2026, 11, 1))


def test_a_missing_current_year_is_warned_about_all_year(app, known_until_2026):
    assert "2028" in calendar.coverage_warning(date(2028, 3, 1))


def test_covers_asks_the_real_calendar(app):
    assert calendar.covers(2025) is True
    assert calendar.covers(1990) is False


def test_the_home_page_shows_the_calendar_warning(app, client, make, known_until_2026, monkeypatch):
    from enforcement.views import main

    monkeypatch.setattr(main, "local_today", lambda: date(2026, 11, 27))
    user = make.user()
    with client.session_transaction() as session:
        session["_user_id"] = user.get_id()
        session["lang"] = "en"
    text = client.get("/home").get_data(as_text=True)
    assert "does not cover 2027" in text


# --- local overrides --------------------------------------------------------------------------------

@pytest.fixture
def admin(make):
    from enforcement.models import Role

    return make.user(Role.ADMIN)


def test_an_override_makes_a_working_day_a_day_off_and_deadlines_move(app, admin):
    from enforcement.extensions import db

    # 5 working days after Monday 2026-03-02 is Monday 2026-03-09; a local day off on Wed 4 March moves it.
    assert calendar.add_working_days(date(2026, 3, 2), 5) == date(2026, 3, 9)
    calendar.set_override(actor=admin, day=date(2026, 3, 4), workday=False, reason="县政府通知：防汛停工一日")
    db.session.commit()
    assert calendar.is_workday(date(2026, 3, 4)) is False
    assert calendar.add_working_days(date(2026, 3, 2), 5) == date(2026, 3, 10)


def test_an_override_makes_a_sunday_a_working_day(app, admin):
    calendar.set_override(actor=admin, day=date(2026, 3, 8), workday=True, reason="调休")
    assert calendar.is_workday(date(2026, 3, 8)) is True
    assert calendar.add_calendar_days(date(2026, 3, 1), 7) == date(2026, 3, 8)  # no roll to Monday


def test_changing_and_removing_an_override_are_audited(app, admin):
    from sqlalchemy import select

    from enforcement.extensions import db
    from enforcement.models import AuditEvent

    calendar.set_override(actor=admin, day=date(2026, 3, 4), workday=False, reason="停工")
    calendar.set_override(actor=admin, day=date(2026, 3, 4), workday=True, reason="撤销停工")
    calendar.remove_override(actor=admin, day=date(2026, 3, 4))
    actions = list(db.session.scalars(select(AuditEvent.action).where(AuditEvent.object_type == "calendar")))
    assert actions == ["calendar.override_set", "calendar.override_set", "calendar.override_removed"]
    assert calendar.is_workday(date(2026, 3, 4)) is True


def test_an_override_needs_a_reason_and_a_top_level_admin(app, admin, make):
    from enforcement.models import Role
    from enforcement.services.errors import DomainError, PermissionDenied

    with pytest.raises(DomainError):
        calendar.set_override(actor=admin, day=date(2026, 3, 4), workday=False, reason="  ")
    town = make.body(parent_id=admin.body_id)
    town_admin = make.user(Role.ADMIN, body=town)
    with pytest.raises(PermissionDenied):
        calendar.set_override(actor=town_admin, day=date(2026, 3, 4), workday=False, reason="停工")
    with pytest.raises(PermissionDenied):
        calendar.set_override(actor=make.user(Role.OFFICER), day=date(2026, 3, 4), workday=False, reason="停工")


def test_an_unknown_year_is_still_refused_except_on_an_overridden_day(app, admin):
    calendar.set_override(actor=admin, day=date(2099, 1, 5), workday=True, reason="测试")
    assert calendar.is_workday(date(2099, 1, 5)) is True
    with pytest.raises(CalendarUnknown):
        calendar.is_workday(date(2099, 1, 6))


def test_working_days_left_until_a_deadline_skip_the_holiday_and_count_the_tiaoxiu_saturday(app):
    assert calendar.working_days_between(date(2026, 9, 30), date(2026, 10, 15)) == 7  # 8, 9, 10 (Sat), 12–15
    assert calendar.working_days_between(date(2026, 10, 20), date(2026, 10, 20)) == 0
    assert calendar.working_days_between(date(2026, 10, 21), date(2026, 10, 20)) == 0
    start = date(2026, 10, 20)
    assert calendar.working_days_between(start, calendar.add_working_days(start, 20)) == 20
