"""Weekly questionnaires through the API: due list, answers, conflicts, errors, sync, changes, clinician read."""

from datetime import date, timedelta

import pytest

from diary import questionnaires
from tests.conftest import count_rows, make_clinic, make_patient, recorded, today_in

API = "/api/v1"


def put(client, patient, instrument, day, answers, minutes_ago=0):
    return client.put(
        f"{API}/me/questionnaires/{instrument}/{day}",
        json={"answers": answers, "recorded_at": recorded(minutes_ago)},
        headers=patient["headers"],
    )


# -- scoring by hand -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("instrument", "answers", "score"),
    [
        ("peg", {"peg_pain": 6, "peg_enjoyment": 5, "peg_activity": 7}, 6),  # (6 + 5 + 7) / 3
        ("peg", {"peg_pain": 7, "peg_enjoyment": 5, "peg_activity": 5}, 5.67),  # 17 / 3 = 5.666...
        ("peg", {"peg_pain": 0, "peg_enjoyment": 0, "peg_activity": 1}, 0.33),
        ("peg", {"peg_pain": 6, "peg_enjoyment": 5}, None),  # partial: no score
        ("peg", {"peg_activity": 10}, None),
        ("pgic", {"pgic": 2}, 2),
        ("pgic", {}, None),
    ],
)
def test_scores_worked_by_hand(instrument, answers, score):
    assert questionnaires.score(instrument, answers) == score


def test_the_instrument_files_hold_text_options_citation_and_licence():
    peg = questionnaires.INSTRUMENTS["peg"]
    assert [i["id"] for i in peg["items"]] == ["peg_pain", "peg_enjoyment", "peg_activity"]
    assert peg["items"][0]["text"] == "What number best describes your pain on average in the past week?"
    assert peg["code"]["code"] == "91147-9" and "Krebs" in peg["citation"] and peg["licence"]
    pgic = questionnaires.INSTRUMENTS["pgic"]
    assert [o["text"] for o in pgic["items"][0]["options"]][:2] == ["Very much improved", "Much improved"]
    assert questionnaires.allowed_values(pgic["items"][0]) == [1, 2, 3, 4, 5, 6, 7]
    assert pgic["url"] != peg["url"] and "Guy" in pgic["citation"]


# -- the due rules ---------------------------------------------------------------------------------

D = date(2026, 12, 6)


@pytest.mark.parametrize(
    ("ident", "last", "start", "visits", "due"),
    [
        ("peg", None, None, [], True),  # never answered
        ("peg", D - timedelta(days=6), None, [], False),
        ("peg", D - timedelta(days=7), None, [], True),  # every 7 days
        ("pgic", None, None, [], False),  # no treatment yet
        ("pgic", None, D + timedelta(days=1), [], False),  # treatment starts tomorrow
        ("pgic", None, D, [], True),  # from the first step on
        ("pgic", D - timedelta(days=3), D - timedelta(days=30), [], False),
        ("pgic", D - timedelta(days=7), D - timedelta(days=30), [], True),
        # In the 3 days before an appointment, unless already answered within them.
        ("pgic", D - timedelta(days=3), D - timedelta(days=30), [D + timedelta(days=3)], True),
        ("pgic", D - timedelta(days=3), D - timedelta(days=30), [D + timedelta(days=4)], False),
        ("pgic", D - timedelta(days=1), D - timedelta(days=30), [D + timedelta(days=1)], False),
        ("pgic", D - timedelta(days=3), D - timedelta(days=30), [D], False),  # the visit is today
    ],
)
def test_due_rules(ident, last, start, visits, due):
    assert questionnaires.is_due(ident, D, last, start, visits) is due


# -- the patient's routes --------------------------------------------------------------------------


def test_due_list_names_the_items_and_answering_makes_peg_not_due(client, patient):
    r = client.get(f"{API}/me/questionnaires", headers=patient["headers"])
    assert r.status_code == 200
    listed = {q["instrument"]: q for q in r.json["questionnaires"]}
    assert r.json["date"] == today_in(patient["timezone"]).isoformat()
    assert listed["peg"]["due"] is True and listed["pgic"]["due"] is False  # no regimen yet
    assert listed["peg"]["items"][1]["text"].startswith(
        "What number best describes how, during the past week"
    )
    assert listed["pgic"]["items"][0]["options"][6] == {"value": 7, "text": "Very much worse"}
    day = r.json["date"]
    assert put(client, patient, "peg", day, {"peg_pain": 5}).status_code == 201
    again = client.get(f"{API}/me/questionnaires", headers=patient["headers"]).json
    peg = next(q for q in again["questionnaires"] if q["instrument"] == "peg")
    assert peg["due"] is False and peg["last_date"] == day


def test_put_creates_updates_conflicts_and_is_idempotent(client, patient, conn):
    day = today_in(patient["timezone"]).isoformat()
    r = put(client, patient, "peg", day, {"peg_pain": 6, "peg_enjoyment": 5}, minutes_ago=10)
    assert r.status_code == 201 and r.json["score"] is None  # incomplete
    assert r.json["answers"] == {"peg_enjoyment": 5, "peg_pain": 6}
    body = {"answers": {"peg_pain": 6, "peg_enjoyment": 5, "peg_activity": 7}, "recorded_at": recorded(5)}
    url = f"{API}/me/questionnaires/peg/{day}"
    r = client.put(url, json=body, headers=patient["headers"])
    assert r.status_code == 200 and r.json["score"] == 6
    # The same version again changes nothing.
    again = client.put(url, json=body, headers=patient["headers"])
    assert again.status_code == 200 and again.json["updated_at"] == r.json["updated_at"]
    # An older version is refused with the kept one.
    stale = put(client, patient, "peg", day, {"peg_pain": 1}, minutes_ago=60)
    assert stale.status_code == 409 and stale.json["errors"]["stored"]["score"] == 6
    assert count_rows(conn, "questionnaire_responses") == 1
    pgic = put(client, patient, "pgic", day, {"pgic": 2})
    assert pgic.status_code == 201 and pgic.json["score"] == 2


@pytest.mark.parametrize(
    ("path", "body", "where"),
    [
        ("peg/{day}", {"answers": {"peg_pain": 11}}, ("json", "answers", "peg_pain")),
        ("peg/{day}", {"answers": {"peg_pain": -1}}, ("json", "answers", "peg_pain")),
        ("peg/{day}", {"answers": {"peg_pain": 5.5}}, ("json", "answers", "peg_pain")),
        ("peg/{day}", {"answers": {"peg_pain": "5"}}, ("json", "answers", "peg_pain")),
        ("peg/{day}", {"answers": {"peg_pain": True}}, ("json", "answers", "peg_pain")),
        ("peg/{day}", {"answers": {"peg_pain": None}}, ("json", "answers", "peg_pain")),
        ("peg/{day}", {"answers": {"peg_mood": 3}}, ("json", "answers", "peg_mood")),  # unknown item
        ("peg/{day}", {"answers": {"pgic": 3}}, ("json", "answers", "pgic")),  # another instrument's
        ("pgic/{day}", {"answers": {"pgic": 0}}, ("json", "answers", "pgic")),
        ("pgic/{day}", {"answers": {"pgic": 8}}, ("json", "answers", "pgic")),
        ("peg/{day}", {"answers": {}}, ("json", "answers", "_schema")),
        ("peg/{day}", {"answers": []}, ("json", "answers")),
        ("peg/{day}", {}, ("json", "answers")),
        ("peg/{day}", {"answers": {"peg_pain": 1}, "extra": 1}, ("json", "extra")),
        (
            "peg/{day}",
            {"answers": {"peg_pain": 1}, "recorded_at": "2026-12-01T10:00:00"},
            ("json", "recorded_at"),
        ),
        ("bdi/{day}", {"answers": {"peg_pain": 1}}, ("path", "instrument")),
        ("peg/2026-02-30", {"answers": {"peg_pain": 1}}, ("path", "date")),
        ("peg/{future}", {"answers": {"peg_pain": 1}}, ("path", "date")),
    ],
)
def test_bad_answers_are_422_naming_the_field_and_nothing_is_written(
    client, patient, conn, path, body, where
):
    today = today_in(patient["timezone"])
    body = {"recorded_at": recorded(), **body}
    url = f"{API}/me/questionnaires/" + path.format(day=today, future=today + timedelta(days=2))
    r = client.put(url, json=body, headers=patient["headers"])
    assert r.status_code == 422, r.json
    errors = r.json["errors"]
    for key in where:
        errors = errors[key]
    assert errors
    assert count_rows(conn, "questionnaire_responses") == 0


def test_sync_and_changes_carry_questionnaires(client, patient):
    day = today_in(patient["timezone"]).isoformat()
    batch = {
        "questionnaires": [
            {
                "instrument": "peg",
                "date": day,
                "answers": {"peg_pain": 4, "peg_enjoyment": 4, "peg_activity": 4},
            },
            {"instrument": "pgic", "date": day, "answers": {"pgic": 9}, "recorded_at": recorded()},
            {"instrument": "nope", "date": day, "answers": {"pgic": 1}, "recorded_at": recorded()},
            "not an object",
        ]
    }
    batch["questionnaires"][0]["recorded_at"] = recorded(1)
    r = client.post(f"{API}/me/sync", json=batch, headers=patient["headers"])
    assert r.status_code == 200, r.json
    results = r.json["questionnaires"]
    assert [x["status"] for x in results] == ["created", "rejected", "rejected", "rejected"]
    assert results[0] == {"instrument": "peg", "date": day, "status": "created"}
    assert "pgic" in results[1]["errors"]["answers"] and "instrument" in results[2]["errors"]
    assert r.json["entries"] == [] and r.json["doses"] == []
    # The same batch item again: unchanged.
    again = client.post(
        f"{API}/me/sync", json={"questionnaires": batch["questionnaires"][:1]}, headers=patient["headers"]
    )
    assert again.json["questionnaires"][0]["status"] == "unchanged"
    changes = client.get(f"{API}/me/changes", headers=patient["headers"]).json
    assert [(q["instrument"], q["score"]) for q in changes["questionnaires"]] == [("peg", 4)]
    later = client.get(f"{API}/me/changes?since={changes['cursor']}", headers=patient["headers"]).json
    assert later["questionnaires"] == []


def test_clinician_reads_own_patients_responses_audited_and_other_clinics_get_404(
    client, conn, clinic, patient
):
    day = today_in(patient["timezone"])
    assert (
        put(
            client, patient, "peg", day.isoformat(), {"peg_pain": 3, "peg_enjoyment": 3, "peg_activity": 6}
        ).status_code
        == 201
    )
    url = f"{API}/patients/{patient['id']}/questionnaires"
    r = client.get(url + f"?from={day - timedelta(days=7)}&to={day}", headers=clinic["headers"])
    assert r.status_code == 200 and [q["score"] for q in r.json["questionnaires"]] == [4]
    assert (
        client.get(url + f"?from={day + timedelta(days=1)}", headers=clinic["headers"]).json["questionnaires"]
        == []
    )
    audited = conn.execute(
        "SELECT COUNT(*) FROM audit_log WHERE action = 'list_questionnaires' AND patient_id = ?",
        (patient["id"],),
    ).fetchone()[0]
    assert audited == 2
    other = make_clinic(conn, name="South Clinic")
    assert client.get(url, headers=other["headers"]).status_code == 404
    assert client.get(url + "?form=2026-01-01", headers=clinic["headers"]).status_code == 422
    assert client.get(url + "?from=2026-13-01", headers=clinic["headers"]).status_code == 422
    # A patient token is not a clinician's.
    assert client.get(url, headers=patient["headers"]).status_code in (401, 403)
    other_patient = make_patient(client, other, name="Other")
    assert (
        client.get(
            f"{API}/patients/{other_patient['id']}/questionnaires", headers=clinic["headers"]
        ).status_code
        == 404
    )
