"""`diary reminders tick --now` and `diary reminders preview` print JSON."""

import json

from click.testing import CliRunner

from diary.cli import main
from tests.reminders.helpers import add_patient, utc


def test_tick_and_preview(rdb, rconn):
    pid = add_patient(rconn, "Europe/London", utc(2026, 3, 28, 0, 0), dose_time="01:30", diary_time=None)
    runner = CliRunner(env={"DIARY_DATABASE": rdb})

    result = runner.invoke(
        main, ["reminders", "preview", pid, "--days", "2", "--now", "2026-03-28T00:00:00+00:00"]
    )
    assert result.exit_code == 0, result.output
    fires = json.loads(result.output)["reminders"]
    assert [(f["local_date"], f["local"], f["utc"]) for f in fires] == [
        ("2026-03-28", "2026-03-28T01:30:00+00:00", "2026-03-28T01:30:00.000000+00:00"),
        ("2026-03-29", "2026-03-29T02:30:00+01:00", "2026-03-29T01:30:00.000000+00:00"),
    ]

    result = runner.invoke(main, ["reminders", "tick", "--now", "2026-03-28T01:30:00+00:00"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {"due": 1, "sent": 1, "skipped_done": 0, "expired": 0, "failed": 0}
    result = runner.invoke(main, ["reminders", "tick", "--now", "2026-03-28T01:30:00"])
    assert result.exit_code != 0 and "offset" in result.output
