"""Core diary behaviour: entries, doses, conflicts, sync and the changes feed."""

import uuid
from datetime import timedelta

from tests.conftest import count_rows, recorded, today_in


def test_put_entry_creates_then_updates_then_conflicts(client, patient):
    day = today_in(patient["timezone"]).isoformat()
    url = f"/api/v1/me/entries/{day}"
    r = client.put(url, json={"pain": 6, "recorded_at": recorded(10)}, headers=patient["headers"])
    assert r.status_code == 201 and r.json["pain"] == 6 and r.json["date"] == day
    r = client.put(
        url,
        json={
            "pain": 5,
            "side_effects": [{"name": "headache", "severity": "mild"}],
            "recorded_at": recorded(5),
        },
        headers=patient["headers"],
    )
    assert r.status_code == 200 and r.json["pain"] == 5
    r = client.put(url, json={"pain": 9, "recorded_at": recorded(60)}, headers=patient["headers"])
    assert r.status_code == 409
    assert r.json["errors"]["stored"]["pain"] == 5
    assert client.get(url, headers=patient["headers"]).json["pain"] == 5


def test_dose_amount_round_trips_exactly_and_is_stored_in_micrograms(client, patient, conn):
    dose_id = str(uuid.uuid4())
    body = {
        "medication": "naltrexone",
        "amount_mg": 4.5,
        "taken_at": "2026-03-01T22:00:00+00:00",
        "status": "taken",
    }
    r = client.put(f"/api/v1/me/doses/{dose_id}", json=body, headers=patient["headers"])
    assert r.status_code == 201, r.json
    assert r.json["amount_mg"] == 4.5
    assert conn.execute("SELECT amount_ug FROM doses").fetchone()[0] == 4500
    assert client.put(f"/api/v1/me/doses/{dose_id}", json=body, headers=patient["headers"]).status_code == 200
    got = client.get("/api/v1/me/doses?from=2026-03-01&to=2026-03-01", headers=patient["headers"]).json
    assert [d["amount_mg"] for d in got["doses"]] == [4.5]
    assert count_rows(conn, "doses") == 1


def test_dose_conflict_sends_the_kept_amount_in_mg_normalised(client, patient):
    # The 409 body once carried the stored amount in micrograms (4500 for 4.5 mg).
    url = f"/api/v1/me/doses/{uuid.uuid4()}"
    body = {"medication": "naltrexone", "taken_at": "2026-03-01T22:00:00+00:00", "status": "taken"}
    kept = client.put(
        url, json={**body, "amount_mg": 3.0, "recorded_at": recorded(5)}, headers=patient["headers"]
    )
    assert kept.status_code == 201 and kept.json["amount_mg"] == 3 and type(kept.json["amount_mg"]) is int
    r = client.put(
        url, json={**body, "amount_mg": 4.5, "recorded_at": recorded(60)}, headers=patient["headers"]
    )
    assert r.status_code == 409
    assert r.json["errors"]["stored"] == kept.json


def test_dose_day_is_local_date_in_sent_offset(client, patient):
    # 23:30 in New York on 1 March is already 2 March in UTC: the diary day stays 1 March.
    r = client.put(
        f"/api/v1/me/doses/{uuid.uuid4()}",
        headers=patient["headers"],
        json={
            "medication": "naltrexone",
            "amount_mg": 1.5,
            "taken_at": "2026-03-01T23:30:00-05:00",
            "status": "taken",
        },
    )
    assert r.status_code == 201
    assert r.json["local_date"] == "2026-03-01"
    assert r.json["taken_at"] == "2026-03-01T23:30:00-05:00"


def test_sync_resend_is_unchanged_and_changes_feed_restores(client, patient):
    today = today_in(patient["timezone"])
    batch = {
        "entries": [
            {
                "date": (today - timedelta(days=i)).isoformat(),
                "pain": i % 11,
                "recorded_at": recorded(100 + i),
            }
            for i in range(5)
        ],
        "doses": [
            {
                "id": str(uuid.uuid4()),
                "medication": "naltrexone",
                "amount_mg": 3,
                "taken_at": recorded(30),
                "status": "taken",
            }
        ],
    }
    first = client.post("/api/v1/me/sync", json=batch, headers=patient["headers"])
    assert first.status_code == 200, first.json
    assert [e["status"] for e in first.json["entries"]] == ["created"] * 5
    again = client.post("/api/v1/me/sync", json=batch, headers=patient["headers"])
    assert [e["status"] for e in again.json["entries"]] == ["unchanged"] * 5
    assert [d["status"] for d in again.json["doses"]] == ["unchanged"]
    feed = client.get("/api/v1/me/changes", headers=patient["headers"]).json
    assert len(feed["entries"]) == 5 and len(feed["doses"]) == 1
    assert (
        client.get(f"/api/v1/me/changes?since={feed['cursor']}", headers=patient["headers"]).json["entries"]
        == []
    )


def test_unknown_query_parameter_is_refused_not_ignored(client, patient):
    r = client.get("/api/v1/me/entries?form=2026-01-01", headers=patient["headers"])
    assert r.status_code == 422
    assert "form" in r.json["errors"]["query"]


def test_retried_delete_succeeds_and_unknown_delete_is_404(client, patient):
    day = today_in(patient["timezone"]).isoformat()
    dose_id = str(uuid.uuid4())
    client.put(
        f"/api/v1/me/entries/{day}", json={"pain": 4, "recorded_at": recorded(5)}, headers=patient["headers"]
    )
    client.put(
        f"/api/v1/me/doses/{dose_id}",
        headers=patient["headers"],
        json={"medication": "naltrexone", "amount_mg": 1.5, "taken_at": recorded(5), "status": "taken"},
    )
    for url in (f"/api/v1/me/entries/{day}", f"/api/v1/me/doses/{dose_id}"):
        # The phone lost our first answer and sends the delete again.
        assert client.delete(url, headers=patient["headers"]).status_code == 204
        assert client.delete(url, headers=patient["headers"]).status_code == 204
        assert client.get(url, headers=patient["headers"]).status_code == 404
    never = (today_in(patient["timezone"]) - timedelta(days=30)).isoformat()
    assert client.delete(f"/api/v1/me/entries/{never}", headers=patient["headers"]).status_code == 404
    assert client.delete(f"/api/v1/me/doses/{uuid.uuid4()}", headers=patient["headers"]).status_code == 404


def test_device_id_beyond_sqlite_integers_is_404(client, patient):
    r = client.delete(f"/api/v1/me/devices/{2**64}", headers=patient["headers"])
    assert r.status_code == 404 and r.json["code"] == 404
