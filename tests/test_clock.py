"""The one "local date in this zone" helper: a diary day follows the patient's zone, never UTC."""

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from diary.clock import local_date


def test_local_date_is_the_date_in_the_zone():
    now = datetime(2026, 3, 1, 23, 30, tzinfo=UTC)
    assert local_date(now, "Pacific/Auckland") == date(2026, 3, 2)
    assert local_date(now, "America/Los_Angeles") == date(2026, 3, 1)
    # The instant's own offset does not matter, only the zone asked for.
    assert local_date(now.astimezone(timezone(timedelta(hours=-10))), "Europe/London") == date(2026, 3, 1)


def test_local_date_refuses_a_naive_instant():
    with pytest.raises(ValueError):
        local_date(datetime(2026, 3, 1), "Europe/London")
