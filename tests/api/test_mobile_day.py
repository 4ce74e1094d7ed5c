"""A mobile day end to end through the API: enroll, log, sync offline, restore on a second phone."""

import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import bearer, count_rows, today_in

API = "/api/v1"
ZONE = "America/Chicago"


def at(days_ago, hour, minute=0, zone=ZONE):
    """An aware local time ``days_ago`` days before today in ``zone``, as ISO text with its offset."""
    day = today_in(zone) - timedelta(days=days_ago)
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=ZoneInfo(zone)).isoformat()


def instant(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def counts(conn):
    return {t: count_rows(conn, t) for t in ("entries", "doses", "patients", "tokens")}


def enroll(client, code, device):
    return client.post(f"{API}/enroll", json={"code": code, "device_name": device})


def new_code(client, clinic, patient_id):
    r = client.post(f"{API}/patients/{patient_id}/enrollment-code", headers=clinic["headers"])
    assert r.status_code == 201, r.json
    return r.json["enrollment_code"]


def assert_same_entry(sent, got):
    """Field by field: what the phone sent is what the server gives back."""
    for key in ("pain", "pain_worst", "fatigue", "mood", "sleep_quality", "function", "sleep_hours", "notes"):
        assert got[key] == sent.get(key), (key, sent, got)
    assert got["side_effects"] == [
        {"name": s["name"], "severity": s["severity"], "note": s.get("note")}
        for s in sent.get("side_effects", [])
    ]
    assert instant(got["recorded_at"]) == instant(sent["recorded_at"])


def assert_same_dose(sent, got):
    assert got["id"] == sent["id"]
    assert got["medication"] == sent["medication"]
    assert got["amount_mg"] == sent["amount_mg"] and type(got["amount_mg"]) is type(sent["amount_mg"])
    assert got["status"] == sent["status"]
    assert got["note"] == sent.get("note")
    # The same instant in the same offset the phone used, so the diary day is the phone's.
    assert instant(got["taken_at"]) == instant(sent["taken_at"])
    assert instant(got["taken_at"]).utcoffset() == instant(sent["taken_at"]).utcoffset()
    assert got["local_date"] == instant(sent["taken_at"]).date().isoformat()
    if "recorded_at" in sent:
        assert instant(got["recorded_at"]) == instant(sent["recorded_at"])


def test_enrollment_codes_are_single_use_replaceable_and_expire(client, conn, clinic, app):
    r = client.post(
        f"{API}/patients", json={"display_name": "Ana", "timezone": ZONE}, headers=clinic["headers"]
    )
    assert r.status_code == 201
    patient_id, first = r.json["id"], r.json["enrollment_code"]
    assert instant(r.json["enrollment_expires_at"]) - datetime.now(UTC) > timedelta(days=6, hours=23)

    r = enroll(client, first, "phone-1")
    assert r.status_code == 201 and r.json["patient_id"] == patient_id and r.json["timezone"] == ZONE
    tokens = count_rows(conn, "tokens")
    second_use = enroll(client, first, "thief")
    assert second_use.status_code == 404 and "code" in second_use.json["errors"]["json"]
    assert count_rows(conn, "tokens") == tokens

    replaced = new_code(client, clinic, patient_id)
    fresh = new_code(client, clinic, patient_id)
    assert replaced != fresh
    assert enroll(client, replaced, "phone-2").status_code == 404
    # Typed by hand: lower case and without dashes still works.
    assert enroll(client, fresh.lower().replace("-", ""), "phone-2").status_code == 201
    assert enroll(client, fresh, "phone-3").status_code == 404

    # An expired code: issued with a lifetime of zero days, it is dead on arrival.
    app.config["ENROLLMENT_CODE_DAYS"] = 0
    expired = new_code(client, clinic, patient_id)
    r = enroll(client, expired, "phone-4")
    assert r.status_code == 404 and set(r.json) == {"code", "status", "message", "errors"}
    # An expired code of yesterday (set in the file) fails the same way.
    app.config["ENROLLMENT_CODE_DAYS"] = 7
    stale = new_code(client, clinic, patient_id)
    conn.execute(
        "UPDATE enrollment_codes SET expires_at = ? WHERE patient_id = ?",
        ((datetime.now(UTC) - timedelta(seconds=1)).isoformat(), patient_id),
    )
    assert enroll(client, stale, "phone-5").status_code == 404
    assert count_rows(conn, "tokens") == tokens + 1


def test_a_mobile_day_end_to_end(client, conn, clinic):
    # The clinician creates the patient; the phone enrolls with the code.
    r = client.post(
        f"{API}/patients",
        json={"display_name": "Ben", "timezone": ZONE, "external_ref": "MRN-1"},
        headers=clinic["headers"],
    )
    assert r.status_code == 201
    patient_id = r.json["id"]
    r = enroll(client, r.json["enrollment_code"], "Ben's phone")
    assert r.status_code == 201
    phone = bearer(r.json["token"])
    assert client.get(f"{API}/me", headers=phone).json == {
        "id": patient_id,
        "display_name": "Ben",
        "timezone": ZONE,
    }

    # Today: one entry and one dose, online.
    today = today_in(ZONE).isoformat()
    today_entry = {
        "pain": 5,
        "pain_worst": 7,
        "fatigue": 4,
        "mood": 6,
        "sleep_quality": 5,
        "function": 6,
        "sleep_hours": 6.75,
        "side_effects": [{"name": "vivid_dreams", "severity": "mild"}],
        "notes": "Woke at 3am, back to sleep.",
        "recorded_at": at(0, 8, 15),
    }
    r = client.put(f"{API}/me/entries/{today}", json=today_entry, headers=phone)
    assert r.status_code == 201, r.json
    assert_same_entry(today_entry, r.json)
    tonight = {
        "id": str(uuid.uuid4()),
        "medication": "naltrexone",
        "amount_mg": 4.5,
        "taken_at": at(0, 22),
        "status": "taken",
        "note": "with water",
        "recorded_at": at(0, 22, 1),
    }
    r = client.put(
        f"{API}/me/doses/{tonight['id']}", json={k: v for k, v in tonight.items() if k != "id"}, headers=phone
    )
    assert r.status_code == 201, r.json
    assert_same_dose(tonight, r.json)

    # Three days offline, then one sync batch, resent three times (flaky network).
    offline_entries = [
        {
            "date": (today_in(ZONE) - timedelta(days=i)).isoformat(),
            "pain": 7 - i,
            "sleep_hours": 7.25,
            "side_effects": [
                {"name": "other", "severity": "moderate", "note": "itchy skin"},
                {"name": "headache", "severity": "severe"},
            ]
            if i == 2
            else [],
            "notes": None if i == 1 else f"day -{i}",
            "recorded_at": at(i, 21, 30),
        }
        for i in (1, 2, 3)
    ]
    offline_doses = [
        {
            "id": str(uuid.uuid4()),
            "medication": "naltrexone",
            "amount_mg": 3,
            "taken_at": at(i, 22, 5),
            "status": "taken" if i != 2 else "skipped",
            "recorded_at": at(i, 22, 6),
        }
        for i in (1, 2, 3)
    ]
    # One dose logged at 23:30 local: already the next day in UTC, still this day in the diary.
    offline_doses.append(
        {
            "id": str(uuid.uuid4()),
            "medication": "naltrexone",
            "amount_mg": 0.001,
            "taken_at": at(1, 23, 30),
            "status": "taken",
            "note": "late",
        }
    )
    batch = {"entries": offline_entries, "doses": offline_doses}
    r = client.post(f"{API}/me/sync", json=batch, headers=phone)
    assert r.status_code == 200, r.json
    assert r.json["entries"] == [{"date": e["date"], "status": "created"} for e in offline_entries]
    assert r.json["doses"] == [{"id": d["id"], "status": "created"} for d in offline_doses]
    assert r.json["deleted_entries"] == [] and r.json["deleted_doses"] == []

    after_first = counts(conn)
    assert after_first["entries"] == 4 and after_first["doses"] == 5
    feed = client.get(f"{API}/me/changes", headers=phone).json
    cursor = feed["cursor"]
    for _ in range(3):
        r = client.post(f"{API}/me/sync", json=batch, headers=phone)
        assert r.status_code == 200
        assert [e["status"] for e in r.json["entries"]] == ["unchanged"] * 3
        assert [d["status"] for d in r.json["doses"]] == ["unchanged"] * 4
        assert counts(conn) == after_first
        since = client.get(f"{API}/me/changes?since={cursor}", headers=phone).json
        assert (since["entries"], since["doses"], since["deleted_entries"], since["deleted_doses"]) == (
            [],
            [],
            [],
            [],
        )
        again = client.get(f"{API}/me/changes", headers=phone).json
        assert {k: v for k, v in again.items() if k != "cursor"} == {
            k: v for k, v in feed.items() if k != "cursor"
        }
    assert int(again["cursor"]) >= int(cursor)

    # The changes feed has everything the phone sent.
    sent_entries = {today: today_entry, **{e["date"]: e for e in offline_entries}}
    sent_doses = {d["id"]: d for d in [tonight, *offline_doses]}
    assert sorted(e["date"] for e in feed["entries"]) == sorted(sent_entries)
    assert sorted(d["id"] for d in feed["doses"]) == sorted(sent_doses)
    late = next(d for d in feed["doses"] if d["id"] == offline_doses[-1]["id"])
    assert late["local_date"] == offline_entries[0]["date"] and late["amount_mg"] == 0.001

    # A second phone enrolls with a fresh code and restores the identical diary.
    r = enroll(client, new_code(client, clinic, patient_id), "Ben's tablet")
    assert r.status_code == 201 and r.json["patient_id"] == patient_id
    tablet = bearer(r.json["token"])
    restored = client.get(f"{API}/me/changes", headers=tablet).json
    assert restored["deleted_entries"] == [] and restored["deleted_doses"] == []
    assert len(restored["entries"]) == len(sent_entries) and len(restored["doses"]) == len(sent_doses)
    for got in restored["entries"]:
        assert_same_entry(sent_entries[got["date"]], got)
    for got in restored["doses"]:
        assert_same_dose(sent_doses[got["id"]], got)
    # The per-day reads agree with the feed.
    for got in restored["entries"]:
        assert client.get(f"{API}/me/entries/{got['date']}", headers=tablet).json == got
    listed = client.get(f"{API}/me/doses", headers=tablet).json["doses"]
    assert sorted(listed, key=lambda d: d["id"]) == sorted(restored["doses"], key=lambda d: d["id"])
    # ... and with what the clinician sees.
    seen = client.get(f"{API}/patients/{patient_id}/entries", headers=clinic["headers"]).json["entries"]
    assert sorted(seen, key=lambda e: e["date"]) == sorted(restored["entries"], key=lambda e: e["date"])

    # Deletions on the phone reach the tablet through the cursor.
    tablet_cursor = restored["cursor"]
    gone_day, gone_dose = offline_entries[2]["date"], offline_doses[0]["id"]
    assert client.delete(f"{API}/me/entries/{gone_day}", headers=phone).status_code == 204
    r = client.post(
        f"{API}/me/sync",
        json={"deleted_doses": [gone_dose], "deleted_entries": [offline_entries[1]["date"]]},
        headers=phone,
    )
    assert r.json["deleted_doses"] == [{"id": gone_dose, "status": "deleted"}]
    assert r.json["deleted_entries"] == [{"date": offline_entries[1]["date"], "status": "deleted"}]
    delta = client.get(f"{API}/me/changes?since={tablet_cursor}", headers=tablet).json
    assert sorted(delta["deleted_entries"]) == sorted([gone_day, offline_entries[1]["date"]])
    assert delta["deleted_doses"] == [gone_dose]
    assert delta["entries"] == [] and delta["doses"] == []
    full = client.get(f"{API}/me/changes", headers=tablet).json
    assert gone_day not in {e["date"] for e in full["entries"]}
    assert gone_dose not in {d["id"] for d in full["doses"]}
    assert client.get(f"{API}/me/entries/{gone_day}", headers=tablet).status_code == 404
    assert client.get(f"{API}/me/doses/{gone_dose}", headers=tablet).status_code == 404
    # Deleting again is harmless and says so.
    r = client.post(f"{API}/me/sync", json={"deleted_doses": [gone_dose]}, headers=phone)
    assert r.json["deleted_doses"] == [{"id": gone_dose, "status": "unchanged"}]

    # An edit on the tablet reaches the phone; the phone's older copy is then stale.
    tablet_cursor = delta["cursor"]
    newer = dict(today_entry, pain=3, recorded_at=at(0, 12))
    assert client.put(f"{API}/me/entries/{today}", json=newer, headers=tablet).status_code == 200
    phone_delta = client.get(f"{API}/me/changes?since={tablet_cursor}", headers=phone).json
    assert [e["date"] for e in phone_delta["entries"]] == [today]
    assert_same_entry(newer, phone_delta["entries"][0])

    before = counts(conn)
    stale_entry = dict(today_entry, date=today, pain=9, recorded_at=at(0, 9))
    stale_dose = dict(tonight, amount_mg=1.5, recorded_at=at(0, 21))
    bad_entry = {
        "date": offline_entries[0]["date"],
        "pain": 11,
        "sleep_hours": "lots",
        "recorded_at": at(1, 9),
    }
    bad_dose = {
        "id": "not-a-uuid",
        "medication": "naltrexone",
        "amount_mg": 4.5001,
        "taken_at": "2026-03-01T22:00",
        "status": "taken",
    }
    good_entry = {
        "date": (today_in(ZONE) - timedelta(days=5)).isoformat(),
        "mood": 8,
        "recorded_at": at(5, 20),
    }
    good_dose = {
        "id": str(uuid.uuid4()),
        "medication": "naltrexone",
        "amount_mg": 4.5,
        "taken_at": at(5, 22),
        "status": "taken",
    }
    r = client.post(
        f"{API}/me/sync",
        headers=phone,
        json={"entries": [stale_entry, bad_entry, good_entry], "doses": [bad_dose, stale_dose, good_dose]},
    )
    assert r.status_code == 200, r.json
    statuses = [x["status"] for x in r.json["entries"]], [x["status"] for x in r.json["doses"]]
    assert statuses == (["stale", "rejected", "created"], ["rejected", "stale", "created"])
    assert set(r.json["entries"][1]["errors"]) == {"pain", "sleep_hours"}
    assert set(r.json["doses"][0]["errors"]) == {"id", "amount_mg", "taken_at"}
    assert "errors" not in r.json["entries"][0] and "errors" not in r.json["doses"][2]
    assert counts(conn)["entries"] == before["entries"] + 1 and counts(conn)["doses"] == before["doses"] + 1
    assert client.get(f"{API}/me/entries/{today}", headers=phone).json["pain"] == 3
    assert client.get(f"{API}/me/doses/{tonight['id']}", headers=phone).json["amount_mg"] == 4.5
    assert (
        client.get(f"{API}/me/entries/{offline_entries[0]['date']}", headers=phone).json["pain"]
        == offline_entries[0]["pain"]
    )


def test_a_stale_put_answers_409_with_the_stored_version(client, patient):
    day = today_in(patient["timezone"]).isoformat()
    url = f"{API}/me/entries/{day}"
    newer = {"pain": 4, "recorded_at": "2026-03-01T12:00:00+00:00"}
    assert client.put(url, json=newer, headers=patient["headers"]).status_code == 201
    r = client.put(
        url, json={"pain": 8, "recorded_at": "2026-03-01T11:59:59+00:00"}, headers=patient["headers"]
    )
    assert r.status_code == 409
    assert r.json["errors"]["stored"]["pain"] == 4
    # An old deletion loses to a newer edit too.
    r = client.post(
        f"{API}/me/sync",
        headers=patient["headers"],
        json={"deleted_entries": [{"date": day, "recorded_at": "2026-03-01T11:00:00+00:00"}]},
    )
    assert r.json["deleted_entries"] == [{"date": day, "status": "stale"}]
    assert client.get(url, headers=patient["headers"]).json["pain"] == 4


@pytest.mark.parametrize("offset", ["+14:00", "-12:00", "+05:45"])
def test_a_dose_keeps_the_day_of_the_offset_it_was_taken_in(client, patient, offset):
    dose_id = str(uuid.uuid4())
    taken_at = f"2026-03-01T23:59:00{offset}"
    r = client.put(
        f"{API}/me/doses/{dose_id}",
        headers=patient["headers"],
        json={"medication": "naltrexone", "amount_mg": 1.5, "taken_at": taken_at, "status": "taken"},
    )
    assert r.status_code == 201
    assert r.json["local_date"] == "2026-03-01" and r.json["taken_at"] == taken_at
    feed = client.get(f"{API}/me/changes", headers=patient["headers"]).json
    assert [(d["id"], d["taken_at"], d["local_date"]) for d in feed["doses"]] == [
        (dose_id, taken_at, "2026-03-01")
    ]
