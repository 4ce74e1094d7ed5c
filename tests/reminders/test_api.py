"""The reminders API through the Flask test client, on a real SQLite file."""

from datetime import timedelta

from diary.clock import to_utc_text, utcnow
from diary.reminders.tick import tick
from tests.conftest import make_clinic, make_patient
from tests.reminders.helpers import CONFIG

REGIMEN = {
    "medication": "naltrexone",
    "dose_time": "22:00",
    "steps": [{"start_date": "2026-01-01", "dose_mg": 1.5}],
}


def set_regimen(client, clinic, patient, **changes):
    r = client.put(
        f"/api/v1/patients/{patient['id']}/regimen", json={**REGIMEN, **changes}, headers=clinic["headers"]
    )
    assert r.status_code == 200, r.json
    return r.json


def reminders(client, patient):
    r = client.get("/api/v1/me/reminders", headers=patient["headers"])
    assert r.status_code == 200, r.json
    return {x["kind"]: x for x in r.json["reminders"]}


def test_defaults_diary_always_dose_only_with_regimen(client, clinic, patient):
    mine = reminders(client, patient)
    assert (
        set(mine) == {"diary", "questionnaire"}
        and mine["diary"]["time"] == "20:00"
        and mine["diary"]["enabled"]
    )
    # The weekly questions: Sunday 19:00 local, sent only when a questionnaire is due.
    assert (mine["questionnaire"]["time"], mine["questionnaire"]["days"]) == ("19:00", ["sun"])
    assert mine["diary"]["next_due_at"] is not None
    r = client.put("/api/v1/me/reminders/dose", json={"time": "21:00"}, headers=patient["headers"])
    assert r.status_code == 409

    set_regimen(client, clinic, patient)
    dose = reminders(client, patient)["dose"]
    assert dose["time"] == "22:00" and dose["follows_regimen"] and dose["days"][0] == "mon"
    # The dose reminder follows a new regimen dose_time...
    set_regimen(client, clinic, patient, dose_time="21:30")
    assert reminders(client, patient)["dose"]["time"] == "21:30"
    # ...until the patient picks another time.
    r = client.put(
        "/api/v1/me/reminders/dose",
        json={"time": "23:15", "days": ["mon", "fri"]},
        headers=patient["headers"],
    )
    assert r.status_code == 200 and r.json["time"] == "23:15" and not r.json["follows_regimen"]
    assert r.json["days"] == ["mon", "fri"]
    set_regimen(client, clinic, patient, dose_time="21:00")
    assert reminders(client, patient)["dose"]["time"] == "23:15"


def test_validation_names_the_field(client, patient):
    h = patient["headers"]
    assert client.put("/api/v1/me/reminders/lunch", json={"time": "12:00"}, headers=h).status_code == 404
    # An unknown kind is 404 even when the body is wrong too.
    r = client.put("/api/v1/me/reminders/lunch", json={"time": "99"}, headers=h)
    assert r.status_code == 404 and set(r.json) == {"code", "status", "message", "errors"}
    r = client.put("/api/v1/me/reminders/diary", json={"time": "25:00"}, headers=h)
    assert r.status_code == 422 and "time" in r.json["errors"]["json"]
    r = client.put("/api/v1/me/reminders/diary", json={"time": "20:00", "days": ["mon", "funday"]}, headers=h)
    assert r.status_code == 422 and "days" in r.json["errors"]["json"]
    r = client.put("/api/v1/me/reminders/diary", json={"time": "20:00", "days": []}, headers=h)
    assert r.status_code == 422 and "days" in r.json["errors"]["json"]
    r = client.put("/api/v1/me/reminders/diary", json={"time": "20:00", "colour": "red"}, headers=h)
    assert r.status_code == 422 and "colour" in r.json["errors"]["json"]
    r = client.put("/api/v1/me/push", json={"platform": "windows", "token": "x"}, headers=h)
    assert r.status_code == 422 and "platform" in r.json["errors"]["json"]
    assert client.get("/api/v1/me/reminders").status_code == 401


def test_disable_clears_next_due(client, patient):
    r = client.put(
        "/api/v1/me/reminders/diary", json={"time": "19:45", "enabled": False}, headers=patient["headers"]
    )
    assert r.status_code == 200 and r.json["next_due_at"] is None and not r.json["enabled"]


def test_clinician_sees_and_sets_only_own_clinic(client, conn, clinic, patient):
    url = f"/api/v1/patients/{patient['id']}/reminders/diary"
    r = client.put(url, json={"time": "18:30"}, headers=clinic["headers"])
    assert r.status_code == 200 and r.json["time"] == "18:30"
    assert client.get(url, headers=clinic["headers"]).json["time"] == "18:30"
    assert (
        client.get(f"/api/v1/patients/{patient['id']}/reminders/dose", headers=clinic["headers"]).status_code
        == 404
    )
    other = make_clinic(conn, name="Other clinic")
    assert client.get(url, headers=other["headers"]).status_code == 404
    assert client.put(url, json={"time": "07:00"}, headers=other["headers"]).status_code == 404
    assert reminders(client, patient)["diary"]["time"] == "18:30"


def test_zone_change_moves_next_due(client, patient):
    before = reminders(client, patient)["diary"]
    r = client.patch("/api/v1/me", json={"timezone": "America/Los_Angeles"}, headers=patient["headers"])
    assert r.status_code == 200, r.json
    after = reminders(client, patient)["diary"]
    assert after["time"] == before["time"] and after["next_due_at"] != before["next_due_at"]


def test_outbox_ack_detail_and_push(client, conn, clinic, patient):
    set_regimen(client, clinic, patient)
    h = patient["headers"]
    assert client.put("/api/v1/me/reminder-settings", json={"detail": True}, headers=h).json == {
        "detail": True
    }
    assert reminders(client, patient)["dose"]
    assert client.get("/api/v1/me/reminders", headers=h).json["detail"] is True
    assert (
        client.put("/api/v1/me/push", json={"platform": "android", "token": "abc"}, headers=h).status_code
        == 204
    )
    assert conn.execute("SELECT token FROM push_tokens").fetchone()[0] == "abc"
    assert client.delete("/api/v1/me/push", headers=h).status_code == 204
    assert conn.execute("SELECT COUNT(*) FROM push_tokens").fetchone()[0] == 0

    # Make both reminders due now and tick: they land in the outbox (the weekly one is not this test's).
    now = utcnow()
    conn.execute(
        "UPDATE reminders SET next_due_utc = CASE kind WHEN 'questionnaire' THEN NULL ELSE ? END",
        (to_utc_text(now - timedelta(minutes=1)),),
    )
    assert tick(conn, now, CONFIG)["sent"] == 2
    r = client.get("/api/v1/me/notifications", headers=h)
    items = r.json["notifications"]
    assert r.status_code == 200 and {i["kind"] for i in items} == {"dose", "diary"}
    assert set(items[0]) == {"id", "kind", "local_date", "due_at", "title", "body", "acked_at"}
    dose = next(i for i in items if i["kind"] == "dose")
    assert dose["body"].endswith("naltrexone 1.5 mg")
    later = to_utc_text(now + timedelta(minutes=1))
    assert client.get("/api/v1/me/notifications", query_string={"since": later}, headers=h).json == {
        "notifications": []
    }
    assert (
        client.get("/api/v1/me/notifications", query_string={"since": "yesterday"}, headers=h).status_code
        == 422
    )

    assert client.post(f"/api/v1/me/notifications/{dose['id']}/ack", headers=h).status_code == 204
    acked = next(
        i
        for i in client.get("/api/v1/me/notifications", headers=h).json["notifications"]
        if i["id"] == dose["id"]
    )
    assert acked["acked_at"] is not None
    assert client.post("/api/v1/me/notifications/nope/ack", headers=h).status_code == 404
    other = make_patient(client, clinic, name="Other")
    assert (
        client.post(f"/api/v1/me/notifications/{dose['id']}/ack", headers=other["headers"]).status_code == 404
    )
