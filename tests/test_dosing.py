"""The planned-day rule: which planned day a dose belongs to."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from diary import dosing

LONDON = ZoneInfo("Europe/London")


def at(text):
    return datetime.fromisoformat(text)


@pytest.mark.parametrize(
    "taken_at, expected",
    [
        ("2026-01-10T22:00:00+00:00", date(2026, 1, 10)),  # on time
        ("2026-01-11T00:30:00+00:00", date(2026, 1, 10)),  # after midnight: the evening before
        ("2026-01-10T20:15:00+00:00", date(2026, 1, 10)),  # early
        ("2026-01-11T09:59:00+00:00", date(2026, 1, 10)),  # 11 h 59 after the 10th's 22:00
        ("2026-01-11T10:00:00+00:00", date(2026, 1, 10)),  # exactly 12 h from both: the earlier day
        ("2026-01-11T10:01:00+00:00", date(2026, 1, 11)),  # nearer the 11th's 22:00
    ],
)
def test_nearest_planned_instant_wins_and_ties_go_earlier(taken_at, expected):
    assert dosing.planned_day(at(taken_at), time(22, 0), LONDON) == expected


def test_planned_instants_follow_the_zone_across_dst():
    # 29 March 2026 London moves to BST: 22:00 local is 21:00 UTC. 23:30 UTC is 00:30 BST on the 30th.
    assert dosing.planned_day(at("2026-03-29T23:30:00+00:00"), time(22, 0), LONDON) == date(2026, 3, 29)
    # 09:15 UTC on the 30th is 12 h 15 after the 29th's 22:00 BST (21:00 UTC) and 11 h 45 before
    # the 30th's: the 30th. Reading 22:00 as UTC would have given the 29th (11 h 15).
    assert dosing.planned_day(at("2026-03-30T09:15:00+00:00"), time(22, 0), LONDON) == date(2026, 3, 30)


def test_a_naive_instant_is_refused():
    with pytest.raises(ValueError):
        dosing.planned_day(datetime(2026, 1, 1, 22, 0), time(22, 0), LONDON)


def test_day_rule_applies_only_to_the_regimens_substance():
    rule = dosing.DayRule("LDN", "22:00", "Europe/London")
    late = {
        "medication": "Naltrexone 4.5mg",
        "local_date": "2026-01-11",
        "taken_at": "2026-01-11T00:30:00+00:00",
    }
    other = {"medication": "Ibuprofen", "local_date": "2026-01-11", "taken_at": "2026-01-11T00:30:00+00:00"}
    assert rule.day_of(late) == date(2026, 1, 10)
    assert rule.day_of(other) == date(2026, 1, 11)
    assert dosing.dose_logged_for(rule, date(2026, 1, 10), [late, other])
    assert not dosing.dose_logged_for(rule, date(2026, 1, 11), [late, other])


def test_without_a_regimen_every_dose_keeps_its_local_date():
    rule = dosing.DayRule(None, None, "UTC")
    dose = {
        "medication": "LDN",
        "local_date": "2026-01-11",
        "taken_at": datetime(2026, 1, 11, 0, 30, tzinfo=UTC).isoformat(),
    }
    assert rule.day_of(dose) == date(2026, 1, 11)


@pytest.mark.parametrize("zone", ["Europe/London", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata"])
@pytest.mark.parametrize("dose_time", [time(22, 0), time(0, 30), time(8, 15), time(2, 30)])
def test_the_fast_path_agrees_with_the_exact_search_across_dst(zone, dose_time):
    # Every 17 minutes through two weeks around each of the zone's 2026 offset changes.
    tz = ZoneInfo(zone)
    starts = [datetime(2026, 3, 22, tzinfo=UTC), datetime(2026, 3, 29, tzinfo=UTC)]
    starts += [datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 10, 28, tzinfo=UTC)]
    for start in starts:
        for k in range(0, 14 * 24 * 60, 17):
            taken = start + timedelta(minutes=k)
            local = taken.astimezone(tz).date()
            assert dosing.planned_day(taken, dose_time, tz) == dosing._nearest_day(
                taken, local, dose_time, tz
            ), taken
