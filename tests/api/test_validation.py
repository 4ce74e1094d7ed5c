"""Bad input of every kind: a 4xx in the one error shape naming the field, nothing written, never a 500."""

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import count_rows, make_patient, recorded, today_in

TABLES = ("patients", "entries", "doses", "regimens", "regimen_steps")
SCORES = ("pain", "pain_worst", "fatigue", "mood", "sleep_quality", "function")
NAIVE = "2026-03-01T22:00:00"
AWARE = "2026-03-01T22:00:00+00:00"
DOSE = {"medication": "naltrexone", "amount_mg": 4.5, "taken_at": AWARE, "status": "taken"}
REGIMEN = {
    "medication": "naltrexone",
    "dose_time": "22:00",
    "steps": [{"start_date": "2026-03-01", "dose_mg": 1.5}, {"start_date": "2026-03-15", "dose_mg": 3}],
}


def snapshot(conn):
    return {t: count_rows(conn, t) for t in TABLES}


def error_keys(errors):
    """Every key at any depth of an ``errors`` object."""
    keys = set()
    if isinstance(errors, dict):
        for k, v in errors.items():
            keys.add(str(k))
            keys |= error_keys(v)
    elif isinstance(errors, list):
        for v in errors:
            keys |= error_keys(v)
    return keys


def assert_refused(r, field, status=None):
    """A 4xx in the one shape whose ``errors`` names ``field``."""
    assert 400 <= r.status_code < 500, (r.status_code, r.get_data(as_text=True)[:500])
    if status is not None:
        assert r.status_code == status, r.json
    body = r.get_json()
    assert isinstance(body, dict) and set(body) == {"code", "status", "message", "errors"}, body
    assert body["code"] == r.status_code
    assert isinstance(body["status"], str) and isinstance(body["message"], str) and body["message"]
    assert field in error_keys(body["errors"]), body["errors"]


def entry(**fields):
    body = {"pain": 5, "recorded_at": recorded()}
    body.update(fields)
    return {k: v for k, v in body.items() if v is not DROP}


def dose(**fields):
    body = dict(DOSE)
    body.update(fields)
    return {k: v for k, v in body.items() if v is not DROP}


DROP = object()

# (case id, entry body, field named in the errors)
BAD_ENTRIES = [
    *[(f"{s}=-1", entry(**{s: -1}), s) for s in SCORES],
    *[(f"{s}=11", entry(**{s: 11}), s) for s in SCORES],
    ("pain string", entry(pain="5"), "pain"),
    ("pain bool", entry(pain=True), "pain"),
    ("pain float", entry(pain=5.5), "pain"),
    ("pain float integral", entry(pain=5.0), "pain"),
    ("mood bool false", entry(mood=False), "mood"),
    ("sleep_hours string", entry(sleep_hours="7"), "sleep_hours"),
    ("sleep_hours bool", entry(sleep_hours=True), "sleep_hours"),
    ("sleep_hours negative", entry(sleep_hours=-0.01), "sleep_hours"),
    ("sleep_hours 24.01", entry(sleep_hours=24.01), "sleep_hours"),
    ("sleep_hours 3 decimals", entry(sleep_hours=7.255), "sleep_hours"),
    ("sleep_hours huge int", entry(sleep_hours=10**400), "sleep_hours"),
    ("unknown field", entry(painn=3), "painn"),
    (
        "side effect unknown name",
        entry(side_effects=[{"name": "hallucinations", "severity": "mild"}]),
        "name",
    ),
    (
        "side effect bad severity",
        entry(side_effects=[{"name": "headache", "severity": "extreme"}]),
        "severity",
    ),
    (
        "side effect duplicate",
        entry(
            side_effects=[
                {"name": "headache", "severity": "mild"},
                {"name": "headache", "severity": "severe"},
            ]
        ),
        "side_effects",
    ),
    ("side effect other without note", entry(side_effects=[{"name": "other", "severity": "mild"}]), "note"),
    (
        "side effect other blank note",
        entry(side_effects=[{"name": "other", "severity": "mild", "note": "  "}]),
        "note",
    ),
    (
        "side effect unknown field",
        entry(side_effects=[{"name": "nausea", "severity": "mild", "when": "am"}]),
        "when",
    ),
    ("side effects not a list", entry(side_effects="headache"), "side_effects"),
    ("notes 2001 chars", entry(notes="x" * 2001), "notes"),
    ("notes not a string", entry(notes=12), "notes"),
    ("empty entry", {"recorded_at": recorded()}, "_schema"),
    ("only blank notes", {"notes": "   ", "recorded_at": recorded()}, "_schema"),
    ("recorded_at missing", entry(recorded_at=DROP), "recorded_at"),
    ("recorded_at naive", entry(recorded_at=NAIVE), "recorded_at"),
    ("recorded_at garbage", entry(recorded_at="yesterday"), "recorded_at"),
    ("recorded_at number", entry(recorded_at=1772402400), "recorded_at"),
    ("recorded_at out of range", entry(recorded_at="0001-01-01T00:00:00+01:00"), "recorded_at"),
    ("recorded_at past year 9999", entry(recorded_at="9999-12-31T23:59:59-05:00"), "recorded_at"),
]


@pytest.mark.parametrize("body,field", [c[1:] for c in BAD_ENTRIES], ids=[c[0] for c in BAD_ENTRIES])
def test_bad_entry_body_is_refused(client, conn, patient, body, field):
    before = snapshot(conn)
    day = today_in(patient["timezone"]).isoformat()
    r = client.put(f"/api/v1/me/entries/{day}", json=body, headers=patient["headers"])
    assert_refused(r, field, 422)
    assert snapshot(conn) == before


@pytest.mark.parametrize("body,field", [c[1:] for c in BAD_ENTRIES], ids=[c[0] for c in BAD_ENTRIES])
def test_bad_entry_in_sync_is_rejected_alone(client, conn, patient, body, field):
    day = today_in(patient["timezone"])
    good = {"date": (day - timedelta(days=1)).isoformat(), "pain": 3, "recorded_at": recorded()}
    before = snapshot(conn)
    r = client.post(
        "/api/v1/me/sync",
        json={"entries": [dict(body, date=day.isoformat()), good]},
        headers=patient["headers"],
    )
    assert r.status_code == 200, r.json
    bad_result, good_result = r.json["entries"]
    assert bad_result["status"] == "rejected" and bad_result["date"] == day.isoformat()
    assert field in error_keys(bad_result["errors"]), bad_result
    assert good_result == {"date": good["date"], "status": "created"}
    after = snapshot(conn)
    assert after["entries"] == before["entries"] + 1
    assert conn.execute("SELECT date FROM entries").fetchall()[0][0] == good["date"]


def _days(patient):
    today = today_in(patient["timezone"])
    return {
        "today": today.isoformat(),
        "tomorrow": (today + timedelta(days=1)).isoformat(),
        "after_tomorrow": (today + timedelta(days=2)).isoformat(),
    }


BAD_PATH_DAYS = [
    "2026-02-30",
    "2025-02-29",
    "2026-13-01",
    "2026-2-3",
    "yesterday",
    "1999-12-31",
    "2026-03-01T00:00",
    "{after_tomorrow}",
]


@pytest.mark.parametrize("method", ["PUT", "GET", "DELETE"])
@pytest.mark.parametrize("day", BAD_PATH_DAYS)
def test_bad_day_in_path_is_refused(client, conn, patient, method, day):
    day = day.format(**_days(patient))
    before = snapshot(conn)
    r = client.open(
        f"/api/v1/me/entries/{day}",
        method=method,
        headers=patient["headers"],
        json=entry() if method == "PUT" else None,
    )
    assert_refused(r, "day", 422)
    # The parameter is named as the document names it, with our words (never Python's
    # "month must be in 1..12").
    messages = r.json["errors"]["path"]["day"]
    assert messages in (
        ["Not a valid date: use YYYY-MM-DD."],
        ["Dates before 2000-01-01 are not accepted."],
        ["Must not be after tomorrow in your time zone."],
    ), messages
    assert snapshot(conn) == before


@pytest.mark.parametrize(
    "date_text,deletion_rejected",
    [
        ("2026-02-30", True),
        ("2026-13-01", True),
        ("26-03-01", True),
        (20260301, True),
        (None, True),
        ("{after_tomorrow}", False),
    ],
)
def test_bad_day_in_sync_item_is_rejected(client, conn, patient, date_text, deletion_rejected):
    if isinstance(date_text, str):
        date_text = date_text.format(**_days(patient))
    before = snapshot(conn)
    r = client.post(
        "/api/v1/me/sync",
        json={"entries": [entry(date=date_text)], "deleted_entries": [date_text]},
        headers=patient["headers"],
    )
    assert r.status_code == 200, r.json
    assert r.json["entries"][0]["status"] == "rejected"
    assert "date" in error_keys(r.json["entries"][0]["errors"])
    # Deleting a day that has no entry is harmless, so only malformed days are rejected there.
    assert r.json["deleted_entries"][0]["status"] == ("rejected" if deletion_rejected else "unchanged")
    if deletion_rejected:
        assert "date" in error_keys(r.json["deleted_entries"][0]["errors"])
    assert snapshot(conn) == before


# (case id, dose body, dose id in the path, field named)
FUTURE = (datetime.now(UTC) + timedelta(days=3)).isoformat()
BAD_DOSES = [
    ("amount 0", dose(amount_mg=0), "amount_mg"),
    ("amount negative", dose(amount_mg=-1.5), "amount_mg"),
    ("amount 1000.001", dose(amount_mg=1000.001), "amount_mg"),
    ("amount 4.5001", dose(amount_mg=4.5001), "amount_mg"),
    ("amount string", dose(amount_mg="4.5"), "amount_mg"),
    ("amount bool", dose(amount_mg=True), "amount_mg"),
    ("amount null", dose(amount_mg=None), "amount_mg"),
    ("amount missing", dose(amount_mg=DROP), "amount_mg"),
    # 1e400 would be sent as Infinity, which is not JSON (400, tests/api/test_hostile_input.py).
    ("amount huge", dose(amount_mg=10**400), "amount_mg"),
    ("taken_at naive", dose(taken_at=NAIVE), "taken_at"),
    ("taken_at garbage", dose(taken_at="last night"), "taken_at"),
    ("taken_at after tomorrow", dose(taken_at=FUTURE), "taken_at"),
    ("taken_at out of range", dose(taken_at="0001-01-01T00:00:00+01:00"), "taken_at"),
    ("taken_at impossible date", dose(taken_at="2026-02-30T22:00:00+00:00"), "taken_at"),
    ("status unknown", dose(status="maybe"), "status"),
    ("medication empty", dose(medication=""), "medication"),
    ("medication missing", dose(medication=DROP), "medication"),
    ("recorded_at naive", dose(recorded_at=NAIVE), "recorded_at"),
    ("note too long", dose(note="n" * 501), "note"),
    ("unknown field", dose(route="oral"), "route"),
]


@pytest.mark.parametrize("body,field", [c[1:] for c in BAD_DOSES], ids=[c[0] for c in BAD_DOSES])
def test_bad_dose_is_refused(client, conn, patient, body, field):
    before = snapshot(conn)
    r = client.put(f"/api/v1/me/doses/{uuid.uuid4()}", json=body, headers=patient["headers"])
    assert_refused(r, field, 422)
    assert snapshot(conn) == before


@pytest.mark.parametrize("body,field", [c[1:] for c in BAD_DOSES], ids=[c[0] for c in BAD_DOSES])
def test_bad_dose_in_sync_is_rejected_alone(client, conn, patient, body, field):
    good_id, bad_id = str(uuid.uuid4()), str(uuid.uuid4())
    before = snapshot(conn)
    r = client.post(
        "/api/v1/me/sync",
        json={"doses": [dict(body, id=bad_id), dict(DOSE, id=good_id)]},
        headers=patient["headers"],
    )
    assert r.status_code == 200, r.json
    bad_result, good_result = r.json["doses"]
    assert bad_result["status"] == "rejected" and bad_result["id"] == bad_id
    assert field in error_keys(bad_result["errors"]), bad_result
    assert good_result == {"id": good_id, "status": "created"}
    assert count_rows(conn, "doses") == before["doses"] + 1


@pytest.mark.parametrize("dose_id", ["not-a-uuid", "1234", "00000000-0000-0000-0000-00000000000g"])
@pytest.mark.parametrize("method", ["PUT", "GET", "DELETE"])
def test_bad_uuid_in_path_is_refused(client, conn, patient, dose_id, method):
    before = snapshot(conn)
    r = client.open(
        f"/api/v1/me/doses/{dose_id}",
        method=method,
        headers=patient["headers"],
        json=DOSE if method == "PUT" else None,
    )
    assert_refused(r, "dose_id", 422)
    assert snapshot(conn) == before


def test_bad_uuids_in_sync_are_rejected(client, conn, patient):
    before = snapshot(conn)
    r = client.post(
        "/api/v1/me/sync",
        json={"doses": [dict(DOSE, id="nope")], "deleted_doses": ["nope", 7]},
        headers=patient["headers"],
    )
    assert r.status_code == 200
    assert [d["status"] for d in r.json["doses"] + r.json["deleted_doses"]] == ["rejected"] * 3
    assert all("id" in error_keys(d["errors"]) for d in r.json["doses"] + r.json["deleted_doses"])
    assert snapshot(conn) == before


# -- body-level failures on every JSON route ------------------------------------


def _json_routes(patient, clinic):
    day = today_in(patient["timezone"]).isoformat()
    return [
        ("PUT", f"/api/v1/me/entries/{day}", patient["headers"]),
        ("PUT", f"/api/v1/me/doses/{uuid.uuid4()}", patient["headers"]),
        ("POST", "/api/v1/me/sync", patient["headers"]),
        ("PATCH", "/api/v1/me", patient["headers"]),
        ("POST", "/api/v1/patients", clinic["headers"]),
        ("PUT", f"/api/v1/patients/{patient['id']}/regimen", clinic["headers"]),
    ]


ROUTE_IDS = ["put-entry", "put-dose", "sync", "patch-me", "post-patient", "put-regimen"]

BODY_FAILURES = [
    # (case id, raw data, content type, status, field)
    ("malformed json", b'{"pain": 5,', "application/json", 400, "json"),
    ("truncated string", b'{"notes": "abc', "application/json", 400, "json"),
    ("not utf-8", b'{"notes": "\xff\xfe"}', "application/json", 400, "json"),
    ("lone surrogate", b'{"notes": "\\ud800", "pain": 1}', "application/json", 400, "json"),
    ("integer over 4300 digits", b'{"pain": ' + b"9" * 5000 + b"}", "application/json", 400, "json"),
    ("a list, not an object", b"[1, 2]", "application/json", 422, "_schema"),
    ("a string, not an object", b'"pain"', "application/json", 422, "_schema"),
    ("form content type", b"pain=5", "application/x-www-form-urlencoded", 415, "Content-Type"),
    ("text content type", b'{"pain": 5}', "text/plain", 415, "Content-Type"),
    (
        "oversized body",
        json.dumps({"notes": "x" * (1024 * 1024 + 1)}).encode(),
        "application/json",
        413,
        "json",
    ),
]


@pytest.mark.parametrize("route", range(6), ids=ROUTE_IDS)
@pytest.mark.parametrize(
    "data,content_type,status,field", [c[1:] for c in BODY_FAILURES], ids=[c[0] for c in BODY_FAILURES]
)
def test_bad_body_is_refused_on_every_json_route(
    client, conn, patient, clinic, route, data, content_type, status, field
):
    method, url, headers = _json_routes(patient, clinic)[route]
    before = snapshot(conn)
    r = client.open(url, method=method, data=data, content_type=content_type, headers=headers)
    assert_refused(r, field, status)
    assert snapshot(conn) == before


@pytest.mark.parametrize("route", range(6), ids=ROUTE_IDS)
def test_unknown_field_is_refused_on_every_json_route(client, conn, patient, clinic, route):
    method, url, headers = _json_routes(patient, clinic)[route]
    before = snapshot(conn)
    r = client.open(url, method=method, json={"zz_unknown": 1}, headers=headers)
    assert_refused(r, "zz_unknown", 422)
    assert snapshot(conn) == before


def test_batch_over_500_items_is_refused_whole(client, conn, patient):
    today = today_in(patient["timezone"])
    entries = [entry(date=(today - timedelta(days=i)).isoformat()) for i in range(400)]
    doses = [dict(DOSE, id=str(uuid.uuid4())) for _ in range(100)]
    before = snapshot(conn)
    r = client.post(
        "/api/v1/me/sync",
        json={"entries": entries, "doses": doses, "deleted_doses": [str(uuid.uuid4())]},
        headers=patient["headers"],
    )
    assert_refused(r, "_schema", 422)
    assert "500" in json.dumps(r.json["errors"])
    assert snapshot(conn) == before
    # Exactly 500 is accepted.
    r = client.post("/api/v1/me/sync", json={"entries": entries, "doses": doses}, headers=patient["headers"])
    assert r.status_code == 200
    assert snapshot(conn)["entries"] == before["entries"] + 400
    assert snapshot(conn)["doses"] == before["doses"] + 100


@pytest.mark.parametrize(
    "body,field",
    [
        ({"entries": "all"}, "entries"),
        ({"doses": {"id": "x"}}, "doses"),
        ({"deleted_entries": 5}, "deleted_entries"),
        ({"deleted_doses": None}, "deleted_doses"),
        ({"entries": [], "since": "3"}, "since"),
    ],
    ids=["entries str", "doses object", "deleted_entries int", "deleted_doses null", "unknown key"],
)
def test_bad_sync_envelope_is_refused(client, conn, patient, body, field):
    before = snapshot(conn)
    assert_refused(client.post("/api/v1/me/sync", json=body, headers=patient["headers"]), field, 422)
    assert snapshot(conn) == before


def test_sync_deletion_with_naive_recorded_at_is_rejected(client, conn, patient):
    day = today_in(patient["timezone"]).isoformat()
    assert (
        client.put(f"/api/v1/me/entries/{day}", json=entry(), headers=patient["headers"]).status_code == 201
    )
    r = client.post(
        "/api/v1/me/sync",
        json={"deleted_entries": [{"date": day, "recorded_at": NAIVE}, {"date": day, "why": "typo"}]},
        headers=patient["headers"],
    )
    assert r.status_code == 200
    first, second = r.json["deleted_entries"]
    assert first["status"] == "rejected" and "recorded_at" in error_keys(first["errors"]), first
    assert second["status"] == "rejected" and "why" in error_keys(second["errors"]), second
    assert conn.execute("SELECT deleted FROM entries").fetchone()[0] == 0


# -- time zones, patients, regimens ------------------------------------------------

BAD_ZONES = [
    "Mars/Olympus",
    "",
    "Europe/Londn",
    "../../etc/passwd",
    "/etc/localtime",
    "Europe/London ",
    "GMT+25",
    "right/UTC",
    "posix/Europe/London",
    "localtime",
    "posixrules",
    "europe/london",
    5,
    None,
    ["Europe/London"],
]


@pytest.mark.parametrize("zone", BAD_ZONES, ids=[repr(z) for z in BAD_ZONES])
def test_unknown_zone_is_refused_on_post_patients(client, conn, clinic, zone):
    before = snapshot(conn)
    r = client.post(
        "/api/v1/patients", json={"display_name": "Zed", "timezone": zone}, headers=clinic["headers"]
    )
    assert_refused(r, "timezone", 422)
    assert snapshot(conn) == before


@pytest.mark.parametrize("zone", BAD_ZONES, ids=[repr(z) for z in BAD_ZONES])
def test_unknown_zone_is_refused_on_patch_me(client, conn, patient, zone):
    r = client.patch("/api/v1/me", json={"timezone": zone}, headers=patient["headers"])
    assert_refused(r, "timezone", 422)
    assert (
        conn.execute("SELECT timezone FROM patients WHERE id = ?", (patient["id"],)).fetchone()[0]
        == patient["timezone"]
    )


@pytest.mark.parametrize(
    "body,field",
    [
        ({"timezone": "Europe/London"}, "display_name"),
        ({"display_name": "", "timezone": "Europe/London"}, "display_name"),
        ({"display_name": "x" * 101, "timezone": "Europe/London"}, "display_name"),
        ({"display_name": 7, "timezone": "Europe/London"}, "display_name"),
        ({"display_name": "Zed", "timezone": "Europe/London", "external_ref": "r" * 101}, "external_ref"),
    ],
    ids=["name missing", "name empty", "name too long", "name int", "external_ref too long"],
)
def test_bad_patient_is_refused(client, conn, clinic, body, field):
    before = snapshot(conn)
    assert_refused(client.post("/api/v1/patients", json=body, headers=clinic["headers"]), field, 422)
    assert snapshot(conn) == before


def regimen(**fields):
    body = json.loads(json.dumps(REGIMEN))
    body.update(fields)
    return {k: v for k, v in body.items() if v is not DROP}


BAD_REGIMENS = [
    ("dose_time 24:00", regimen(dose_time="24:00"), "dose_time"),
    ("dose_time 7pm", regimen(dose_time="7pm"), "dose_time"),
    ("dose_time 7:00", regimen(dose_time="7:00"), "dose_time"),
    ("dose_time with seconds", regimen(dose_time="22:00:00"), "dose_time"),
    ("dose_time 12:60", regimen(dose_time="12:60"), "dose_time"),
    ("dose_time int", regimen(dose_time=2200), "dose_time"),
    (
        "duplicate step dates",
        regimen(
            steps=[{"start_date": "2026-03-01", "dose_mg": 1.5}, {"start_date": "2026-03-01", "dose_mg": 3}]
        ),
        "steps",
    ),
    ("no steps", regimen(steps=[]), "steps"),
    ("steps missing", regimen(steps=DROP), "steps"),
    ("step dose 0", regimen(steps=[{"start_date": "2026-03-01", "dose_mg": 0}]), "dose_mg"),
    ("step dose 1000.001", regimen(steps=[{"start_date": "2026-03-01", "dose_mg": 1000.001}]), "dose_mg"),
    ("step dose 4 decimals", regimen(steps=[{"start_date": "2026-03-01", "dose_mg": 4.5001}]), "dose_mg"),
    ("step dose negative", regimen(steps=[{"start_date": "2026-03-01", "dose_mg": -3}]), "dose_mg"),
    ("step dose string", regimen(steps=[{"start_date": "2026-03-01", "dose_mg": "3"}]), "dose_mg"),
    ("step impossible date", regimen(steps=[{"start_date": "2026-02-30", "dose_mg": 3}]), "start_date"),
    ("step unknown field", regimen(steps=[{"start_date": "2026-03-01", "dose_mg": 3, "unit": "mg"}]), "unit"),
    ("medication missing", regimen(medication=DROP), "medication"),
    ("other_medications not a list", regimen(other_medications="ibuprofen"), "other_medications"),
    ("other_medications empty name", regimen(other_medications=[""]), "other_medications"),
]


@pytest.mark.parametrize("body,field", [c[1:] for c in BAD_REGIMENS], ids=[c[0] for c in BAD_REGIMENS])
def test_bad_regimen_is_refused(client, conn, clinic, patient, body, field):
    before = snapshot(conn)
    r = client.put(f"/api/v1/patients/{patient['id']}/regimen", json=body, headers=clinic["headers"])
    assert_refused(r, field, 422)
    assert snapshot(conn) == before


# -- query strings ---------------------------------------------------------------


@pytest.mark.parametrize(
    "query,field",
    [
        ("from=2026-02-30", "from"),
        ("to=2026-13-01", "to"),
        ("from=yesterday", "from"),
        ("from=2026-03-10&to=2026-03-01", "to"),
    ],
    ids=["from impossible", "to impossible", "from word", "from after to"],
)
@pytest.mark.parametrize(
    "route", ["/api/v1/me/entries", "/api/v1/me/doses", "clinician:entries", "clinician:doses"]
)
def test_bad_date_range_is_refused(client, patient, clinic, query, field, route):
    if route.startswith("clinician:"):
        url, headers = f"/api/v1/patients/{patient['id']}/{route.split(':')[1]}", clinic["headers"]
    else:
        url, headers = route, patient["headers"]
    assert_refused(client.get(f"{url}?{query}", headers=headers), field, 422)


@pytest.mark.parametrize("cursor", ["abc", "-1", "1.5", "1e5", "9" * 19, ""])
def test_bad_cursor_is_refused(client, patient, cursor):
    r = client.get(f"/api/v1/me/changes?since={cursor}", headers=patient["headers"])
    assert_refused(r, "since", 422)


# -- the good bounds ----------------------------------------------------------------


@pytest.mark.parametrize(
    "fields",
    [
        {s: 0 for s in SCORES},
        {s: 10 for s in SCORES},
        {"sleep_hours": 0},
        {"sleep_hours": 24},
        {"sleep_hours": 7.25},
        {"sleep_hours": 0.01},
        {"notes": "n" * 2000},
        {
            "side_effects": [
                {"name": n, "severity": s}
                for n, s in zip(
                    (
                        "vivid_dreams",
                        "insomnia",
                        "headache",
                        "nausea",
                        "diarrhea",
                        "dizziness",
                        "anxiety",
                        "flu_like",
                    ),
                    ("mild", "moderate", "severe") * 3,
                )
            ]
            + [{"name": "other", "severity": "mild", "note": "itchy"}]
        },
    ],
    ids=[
        "scores 0",
        "scores 10",
        "sleep 0",
        "sleep 24",
        "sleep 7.25",
        "sleep 0.01",
        "notes 2000",
        "all side effects",
    ],
)
def test_good_bounds_of_an_entry_are_accepted(client, conn, patient, fields):
    day = today_in(patient["timezone"]).isoformat()
    r = client.put(
        f"/api/v1/me/entries/{day}", json={**fields, "recorded_at": recorded()}, headers=patient["headers"]
    )
    assert r.status_code == 201, r.json
    for key, value in fields.items():
        assert r.json[key] == (
            value if key != "side_effects" else [dict(s, note=s.get("note")) for s in value]
        )
    assert count_rows(conn, "entries") == 1


def test_tomorrow_is_accepted_and_the_day_after_is_not(client, conn, patient):
    days = _days(patient)
    r = client.put(f"/api/v1/me/entries/{days['tomorrow']}", json=entry(), headers=patient["headers"])
    assert r.status_code == 201, r.json
    r = client.post(
        "/api/v1/me/sync",
        json={"entries": [entry(date=days["tomorrow"], pain=6), entry(date=days["after_tomorrow"])]},
        headers=patient["headers"],
    )
    assert [e["status"] for e in r.json["entries"]] == ["updated", "rejected"]
    assert count_rows(conn, "entries") == 1


def test_tomorrow_follows_the_patients_zone_not_utc(client, clinic):
    # Kiritimati is UTC+14 and Pago Pago UTC-11: their "tomorrow" is two days apart in UTC terms.
    east = make_patient(client, clinic, timezone_name="Pacific/Kiritimati", name="East")
    west = make_patient(client, clinic, timezone_name="Pacific/Pago_Pago", name="West", device="phone-w")
    east_tomorrow = (today_in("Pacific/Kiritimati") + timedelta(days=1)).isoformat()
    assert (
        client.put(f"/api/v1/me/entries/{east_tomorrow}", json=entry(), headers=east["headers"]).status_code
        == 201
    )
    # 25 hours apart, Kiritimati's tomorrow is always after Pago Pago's.
    assert east_tomorrow > (today_in("Pacific/Pago_Pago") + timedelta(days=1)).isoformat()
    r = client.put(f"/api/v1/me/entries/{east_tomorrow}", json=entry(), headers=west["headers"])
    assert_refused(r, "day", 422)


@pytest.mark.parametrize("amount", [0.001, 1000, 4.5, 1.5, 0.5, 999.999])
def test_good_dose_amounts_round_trip(client, conn, patient, amount):
    r = client.put(
        f"/api/v1/me/doses/{uuid.uuid4()}", json=dose(amount_mg=amount), headers=patient["headers"]
    )
    assert r.status_code == 201, r.json
    assert r.json["amount_mg"] == amount
    assert conn.execute("SELECT amount_ug FROM doses").fetchone()[0] == round(amount * 1000)


def test_good_regimen_is_accepted(client, conn, clinic, patient):
    r = client.put(
        f"/api/v1/patients/{patient['id']}/regimen",
        json=regimen(
            dose_time="00:00",
            steps=[
                {"start_date": "2026-03-01", "dose_mg": 0.001},
                {"start_date": "2026-03-15", "dose_mg": 1000},
            ],
        ),
        headers=clinic["headers"],
    )
    assert r.status_code == 200, r.json
    assert [s["dose_mg"] for s in r.json["steps"]] == [0.001, 1000]
    assert count_rows(conn, "regimen_steps") == 2


def test_null_items_in_a_batch_are_rejected_alone(client, conn, patient):
    day = today_in(patient["timezone"]).isoformat()
    dose_id = str(uuid.uuid4())
    r = client.post(
        "/api/v1/me/sync",
        headers=patient["headers"],
        json={
            "entries": [None, entry(date=day)],
            "doses": [None, dict(DOSE, id=dose_id)],
            "deleted_entries": [None],
            "deleted_doses": [None],
        },
    )
    assert r.status_code == 200, r.json
    assert [e["status"] for e in r.json["entries"]] == ["rejected", "created"]
    assert [d["status"] for d in r.json["doses"]] == ["rejected", "created"]
    assert r.json["deleted_entries"][0]["status"] == "rejected"
    assert r.json["deleted_doses"][0]["status"] == "rejected"
    assert count_rows(conn, "entries") == 1 and count_rows(conn, "doses") == 1


@pytest.mark.parametrize(
    "body",
    [
        {"display_name": "A"},
        {"display_name": "N" * 100},
        {"timezone": "UTC"},
        {"timezone": "America/Argentina/Buenos_Aires", "display_name": "Moved"},
    ],
    ids=["name 1 char", "name 100 chars", "zone UTC", "zone and name"],
)
def test_good_profile_changes_are_accepted(client, conn, patient, body):
    r = client.patch("/api/v1/me", json=body, headers=patient["headers"])
    assert r.status_code == 200, r.json
    row = conn.execute(
        "SELECT display_name, timezone FROM patients WHERE id = ?", (patient["id"],)
    ).fetchone()
    for key, value in body.items():
        assert r.json[key] == value and row[key] == value


@pytest.mark.parametrize(
    "body",
    [{"display_name": ""}, {"display_name": "N" * 101}, {"display_name": None}],
    ids=["empty", "101 chars", "null"],
)
def test_bad_display_name_is_refused_on_patch_me(client, conn, patient, body):
    before = conn.execute("SELECT display_name FROM patients").fetchall()
    assert_refused(client.patch("/api/v1/me", json=body, headers=patient["headers"]), "display_name", 422)
    assert conn.execute("SELECT display_name FROM patients").fetchall() == before
