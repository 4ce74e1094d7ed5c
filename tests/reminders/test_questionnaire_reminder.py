"""The weekly questionnaire reminder: Sunday 19:00 local by default, sent only when a questionnaire is due."""

from datetime import timedelta

from diary import db as dbmod
from diary import records
from diary.reminders import rules
from tests.reminders.helpers import add_patient, deliveries, run_ticks, utc


def test_default_is_sunday_1900_and_it_is_sent_once_when_due_else_skipped(rconn):
    now = utc(2026, 12, 5, 12, 0)  # a Saturday; London is on UTC in December
    due = add_patient(rconn, "Europe/London", now, questionnaire_enabled=True)
    answered = add_patient(rconn, "Europe/London", now, questionnaire_enabled=True)
    row = rconn.execute(
        "SELECT time, days, next_local_date FROM reminders WHERE patient_id = ? AND kind = 'questionnaire'",
        (due,),
    ).fetchone()
    assert (row["time"], row["days"], row["next_local_date"]) == ("19:00", "sun", "2026-12-06")
    with dbmod.write(rconn):
        # Answered the PEG on Friday: nothing is due on Sunday (PEG every 7 days; no treatment, no PGIC).
        records.upsert_response(
            rconn,
            answered,
            "peg",
            "2026-12-04",
            {"answers": {"peg_pain": 5, "peg_enjoyment": 5, "peg_activity": 5}, "recorded_at": now},
            now,
            dbmod.next_seq(rconn),
        )
    start = utc(2026, 12, 6, 18, 58)
    run_ticks(rconn, start, start + timedelta(minutes=5))
    run_ticks(rconn, start, start + timedelta(minutes=5))  # a second scheduler by mistake: nothing more
    sent = [
        (r["kind"], r["local_date"], r["status"], r["body"])
        for r in deliveries(rconn, due)
        if r["kind"] != "diary"
    ]
    assert sent == [("questionnaire", "2026-12-06", "sent", "Your weekly questions are ready")]
    theirs = [(r["kind"], r["status"]) for r in deliveries(rconn, answered) if r["kind"] != "diary"]
    assert theirs == [("questionnaire", "skipped_done")]
    # The next one is a week later.
    nxt = rconn.execute(
        "SELECT next_local_date FROM reminders WHERE patient_id = ? AND kind = 'questionnaire'", (due,)
    ).fetchone()[0]
    assert nxt == "2026-12-13"
    assert rules.message("questionnaire", rules.parse_time("19:00")) == (
        "Reminder",
        "Your weekly questions are ready",
    )
