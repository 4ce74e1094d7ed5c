"""Every route that returns patient data, called by everyone who must not see that patient's data.

The routes come from ``app.url_map``, so a route added later is covered at once;
a patient-data route without a sample below fails the suite loudly.
"""

import re
import uuid
from datetime import timedelta

import pytest

from diary import auth, create_app
from diary import db as dbmod
from diary.clock import to_utc_text, utcnow
from tests.conftest import bearer, make_clinic, make_patient, password_hash, recorded, today_in

API = "/api/v1"
MARK = "Qx7"  # every marker of the victim contains this
SKIP_METHODS = {"HEAD", "OPTIONS"}

# A body for every patient-data route that takes one (None: the route takes no body).
# Keys are (method, rule without /api/v1). Values may be callables of the world.
SAMPLE_BODIES = {
    ("PATCH", "/me"): {"display_name": "Renamed Person"},
    ("PUT", "/me/entries/<day>"): lambda w: {"pain": 2, "notes": "attacker note", "recorded_at": recorded()},
    ("PUT", "/me/doses/<dose_id>"): lambda w: {
        "medication": "naltrexone",
        "amount_mg": 3,
        "taken_at": recorded(5),
        "status": "taken",
    },
    ("POST", "/me/sync"): lambda w: {
        "entries": [{"date": w["day"], "pain": 1, "recorded_at": recorded()}],
        "doses": [
            {
                "id": w["dose_id"],
                "medication": "naltrexone",
                "amount_mg": 1,
                "taken_at": recorded(5),
                "status": "skipped",
                "recorded_at": recorded(),
            }
        ],
        "deleted_entries": [w["day"]],
        "deleted_doses": [w["dose_id"]],
        "questionnaires": [
            {"instrument": "peg", "date": w["day"], "answers": {"peg_pain": 1}, "recorded_at": recorded()}
        ],
    },
    ("PUT", "/me/questionnaires/<instrument>/<date>"): lambda w: {
        "answers": {"peg_pain": 4},
        "recorded_at": recorded(),
    },
    ("POST", "/patients"): {"display_name": "Someone New", "timezone": "Europe/Paris"},
    ("PATCH", "/patients/<patient_id>"): {"display_name": "Hijacked Name", "external_ref": "X-1"},
    ("POST", "/patients/<patient_id>/enrollment-code"): None,
    ("PUT", "/patients/<patient_id>/regimen"): {
        "medication": "naltrexone",
        "dose_time": "21:30",
        "steps": [{"start_date": "2026-01-01", "dose_mg": 0.5}],
    },
    ("POST", "/patients/<patient_id>/appointments"): {
        "starts_at": "2026-06-01T09:00:00+01:00",
        "note": "follow-up",
    },
    ("POST", "/patients/<patient_id>/reports"): {},
    ("PUT", "/me/reminders/<kind>"): {"time": "20:30"},
    ("PUT", "/me/reminder-settings"): {"detail": True},
    ("POST", "/me/notifications/<notification_id>/ack"): None,
    ("PUT", "/me/push"): {"platform": "ios", "token": "attacker-push-token"},
    ("PUT", "/patients/<patient_id>/reminders/<kind>"): {"time": "20:30"},
    # Erasure: the refused callers send the real confirmation, so a refusal is about who asked.
    ("DELETE", "/me"): {"confirm": "DELETE"},
    ("DELETE", "/patients/<patient_id>"): {"confirm": "DELETE"},
}

# Routes whose positive control must not destroy the victim: the owner sends this
# body instead and must get past authorisation to the confirmation check (422 on
# ``confirm``). The real erasure is tested in test_data_rights.py. (Another patient
# calling DELETE /me with the real confirmation erases only themselves.)
OWNER_CONTROL_BODIES = {
    ("DELETE", "/me"): ({"confirm": "no"}, 422, "confirm"),
    ("DELETE", "/patients/<patient_id>"): ({"confirm": "no"}, 422, "confirm"),
}

# Path parameters: name -> the victim's value, taken from the world.
PATH_VALUES = {
    "patient_id": "patient_id",
    "day": "day",
    "dose_id": "dose_id",
    "device_id": "device_id",
    "snapshot_id": "snapshot_id",
    "notification_id": "notification_id",
    "kind": "kind",
    "appointment_id": "appointment_id",
    "instrument": "instrument",
    "date": "day",
}


def _rule_key(rule):
    # <any(dose, diary):kind> and <int:device_id> both become <name>.
    return re.sub(r"<(?:[^:<>]+:)?([a-z_]+)>", r"<\1>", rule.rule[len(API) :])


def patient_data_routes(app):
    """Every (method, rule) under /api/v1/me and /api/v1/patients."""
    routes = []
    for rule in app.url_map.iter_rules():
        path = _rule_key(rule) if rule.rule.startswith(API) else None
        if path is None or not (
            path == "/me" or path.startswith("/me/") or path == "/patients" or path.startswith("/patients/")
        ):
            continue
        for method in sorted(rule.methods - SKIP_METHODS):
            routes.append((method, path))
    return sorted(routes, key=lambda r: (r[1], r[0]))


# Collected at import so each route is its own test case.
ROUTES = patient_data_routes(create_app({"DATABASE": ":memory:"}))


def test_the_route_list_is_the_real_one():
    keys = set(ROUTES)
    for expected in [
        ("GET", "/me"),
        ("PUT", "/me/entries/<day>"),
        ("POST", "/me/sync"),
        ("GET", "/me/changes"),
        ("GET", "/patients/<patient_id>"),
        ("GET", "/patients/<patient_id>/entries"),
        ("DELETE", "/me/devices/<device_id>"),
    ]:
        assert expected in keys
    assert len(ROUTES) >= 25


@pytest.mark.parametrize("method,path", ROUTES, ids=[f"{m} {p}" for m, p in ROUTES])
def test_every_patient_data_route_has_a_sample(method, path):
    for name in re.findall(r"<([a-z_]+)>", path):
        assert name in PATH_VALUES, f"{method} {path}: add a sample value for <{name}> to PATH_VALUES"
    if method in ("POST", "PUT", "PATCH"):
        assert (method, path) in SAMPLE_BODIES, f"{method} {path}: add a sample body to SAMPLE_BODIES"


# -- the world ----------------------------------------------------------------


def add_clinician_token(conn, clinic_id, *, expires_in=timedelta(hours=12), idle=timedelta(0)):
    """Another clinician of a clinic with a token; returns (clinician_id, token)."""
    now = utcnow()
    with dbmod.write(conn):
        cur = conn.execute(
            "INSERT INTO clinicians (clinic_id, email, name, password_hash, created_at) VALUES (?, ?, ?, ?, ?)",
            (
                clinic_id,
                f"{uuid.uuid4().hex[:8]}@clinic.example",
                "Dr Other",
                password_hash(),
                to_utc_text(now),
            ),
        )
        token, token_hash = auth.new_token()
        conn.execute(
            "INSERT INTO tokens (token_hash, kind, clinician_id, created_at, expires_at, last_used_at) "
            "VALUES (?, 'clinician', ?, ?, ?, ?)",
            (
                token_hash,
                cur.lastrowid,
                to_utc_text(now - idle),
                to_utc_text(now + expires_in),
                to_utc_text(now - idle),
            ),
        )
    return cur.lastrowid, token


@pytest.fixture
def world(client, conn):
    """A victim with data of every kind, and everyone who must not see it."""
    home = make_clinic(conn, "Home Clinic")
    away = make_clinic(conn, "Away Clinic")
    h = home["headers"]
    r = client.post(
        f"{API}/patients",
        headers=h,
        json={
            "display_name": f"Victim {MARK}name",
            "timezone": "Europe/London",
            "external_ref": f"MRN-{MARK}-77",
        },
    )
    assert r.status_code == 201
    victim_id = r.json["id"]
    phone = client.post(
        f"{API}/enroll", json={"code": r.json["enrollment_code"], "device_name": f"{MARK}-phone"}
    )
    vh = bearer(phone.json["token"])
    code = client.post(f"{API}/patients/{victim_id}/enrollment-code", headers=h).json["enrollment_code"]
    lost = client.post(f"{API}/enroll", json={"code": code, "device_name": f"{MARK}-lost-phone"})
    devices = client.get(f"{API}/me/devices", headers=vh).json["devices"]
    phone_device = next(d["id"] for d in devices if d["device_name"] == f"{MARK}-phone")
    lost_device = next(d["id"] for d in devices if d["device_name"] == f"{MARK}-lost-phone")
    assert client.delete(f"{API}/me/devices/{lost_device}", headers=vh).status_code == 204
    code = client.post(f"{API}/patients/{victim_id}/enrollment-code", headers=h).json["enrollment_code"]
    signed_out = client.post(f"{API}/enroll", json={"code": code, "device_name": f"{MARK}-old-phone"})
    assert client.post(f"{API}/auth/logout", headers=bearer(signed_out.json["token"])).status_code == 204

    day = (today_in("Europe/London") - timedelta(days=1)).isoformat()
    dose_id = str(uuid.uuid4())
    for i in range(3):
        d = (today_in("Europe/London") - timedelta(days=i + 1)).isoformat()
        assert (
            client.put(
                f"{API}/me/entries/{d}",
                headers=vh,
                json={
                    "pain": 6 - i,
                    "sleep_hours": 6.5,
                    "notes": f"notes-{MARK}-{i}",
                    "side_effects": [{"name": "other", "severity": "mild", "note": f"effect-{MARK}"}],
                    "recorded_at": recorded(30),
                },
            ).status_code
            == 201
        )
    assert (
        client.put(
            f"{API}/me/doses/{dose_id}",
            headers=vh,
            json={
                "medication": "naltrexone",
                "amount_mg": 1.5,
                "taken_at": recorded(60 * 24),
                "status": "taken",
                "note": f"dose-{MARK}",
            },
        ).status_code
        == 201
    )
    assert (
        client.put(
            f"{API}/patients/{victim_id}/regimen",
            headers=h,
            json={
                "medication": "naltrexone",
                "dose_time": "22:00",
                "steps": [{"start_date": "2026-01-01", "dose_mg": 1.5}],
                "other_medications": [f"med-{MARK}"],
            },
        ).status_code
        == 200
    )

    world = {
        "patient_id": victim_id,
        "day": day,
        "dose_id": dose_id,
        "device_id": phone_device,
        "kind": "diary",
        "instrument": "peg",
        "victim_headers": vh,
        "home_headers": h,
        "secrets": {phone.json["token"], lost.json["token"], signed_out.json["token"], home["token"]},
    }
    if ("POST", "/patients/<patient_id>/appointments") in ROUTES:
        r = client.post(
            f"{API}/patients/{victim_id}/appointments",
            headers=h,
            json={"starts_at": "2026-06-01T09:00:00+01:00", "note": f"appt-{MARK}"},
        )
        assert r.status_code == 201, r.json
        world["appointment_id"] = r.json["id"]
    if ("POST", "/patients/<patient_id>/reports") in ROUTES:
        r = client.post(f"{API}/patients/{victim_id}/reports", headers=h, json={})
        assert r.status_code == 201, r.json
        world["snapshot_id"] = r.json["id"]
    world["notification_id"] = _victim_notification(conn, victim_id)
    answers = {"peg_pain": 7, "peg_enjoyment": 6, "peg_activity": 8}
    r = client.put(
        f"{API}/me/questionnaires/peg/{day}",
        headers=vh,
        json={"answers": answers, "recorded_at": recorded(30)},
    )
    assert r.status_code == 201, r.json

    # The attackers.
    other = make_patient(client, home, name="Attacker Same-Clinic", device="attacker-phone")
    assert (
        client.put(
            f"{API}/me/entries/{day}",
            headers=other["headers"],
            json={"pain": 9, "notes": "attacker's own", "recorded_at": recorded()},
        ).status_code
        == 201
    )
    _, logged_out = add_clinician_token(conn, home["clinic_id"])
    assert client.post(f"{API}/auth/logout", headers=bearer(logged_out)).status_code == 204
    _, expired = add_clinician_token(conn, home["clinic_id"], expires_in=timedelta(seconds=-1))
    _, idle = add_clinician_token(conn, home["clinic_id"], idle=timedelta(minutes=31))
    world["callers"] = {
        "other patient": other["headers"],
        "clinician of another clinic": away["headers"],
        "no token": {},
        "malformed token": {"Authorization": "Bearer not-a-real-token"},
        "empty bearer": {"Authorization": "Bearer "},
        "basic scheme": {"Authorization": f"Basic {phone.json['token']}"},
        "token with junk": {"Authorization": f"Bearer {phone.json['token']}x"},
        "revoked device": bearer(lost.json["token"]),
        "logged-out device": bearer(signed_out.json["token"]),
        "logged-out clinician": bearer(logged_out),
        "expired clinician": bearer(expired),
        "idle clinician": bearer(idle),
        "victim's own patient token": vh,
        "victim's own clinician": h,
    }
    world["secrets"] |= {logged_out, expired, idle}
    return world


def _victim_notification(conn, patient_id):
    """A reminder delivery of the victim (the reminder process would have written it)."""
    now = to_utc_text(utcnow())
    delivery_id = str(uuid.uuid4())
    with dbmod.write(conn):
        conn.execute(
            "INSERT INTO reminders (patient_id, kind, time, updated_at) VALUES (?, 'diary', '20:00', ?) "
            "ON CONFLICT (patient_id, kind) DO NOTHING",
            (patient_id, now),
        )
        reminder_id = conn.execute(
            "SELECT id FROM reminders WHERE patient_id = ? AND kind = 'diary'", (patient_id,)
        ).fetchone()[0]
        conn.execute(
            "INSERT INTO deliveries (id, reminder_id, patient_id, kind, local_date, due_at, claimed_at, status, "
            "title, body, attempts) VALUES (?, ?, ?, 'diary', ?, ?, ?, 'sent', ?, ?, 1)",
            (delivery_id, reminder_id, patient_id, "2026-03-01", now, now, f"title-{MARK}", f"body-{MARK}"),
        )
    return delivery_id


def victim_markers(conn, world):
    """Strings only the victim's data contains."""
    markers = {world["patient_id"], world["dose_id"], *world["secrets"]}
    if world.get("snapshot_id"):
        markers.add(world["snapshot_id"])
    markers.add(world["notification_id"])
    return markers | {MARK}


def db_state(conn, patient_id=None):
    """Every row that matters, or only the rows of one patient (audit log and token touch times left out)."""
    state = {}
    tables = [
        r[0]
        for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "AND name NOT IN ('audit_log', '_sqlite_migrations')"
        )
    ]
    for table in tables:
        columns = [c[1] for c in conn.execute(f"PRAGMA table_info({table})") if c[1] != "last_used_at"]
        where, params = "", ()
        if patient_id is not None:
            if table == "patients":
                where, params = " WHERE id = ?", (patient_id,)
            elif "patient_id" in columns:
                where, params = " WHERE patient_id = ?", (patient_id,)
            else:
                continue
        rows = conn.execute(f"SELECT {', '.join(columns)} FROM {table}{where}", params).fetchall()
        state[table] = sorted(tuple(r) for r in rows)
    return state


def build_call(method, path, world):
    url = API + re.sub(r"<([a-z_]+)>", lambda m: str(world[PATH_VALUES[m.group(1)]]), path)
    body = SAMPLE_BODIES.get((method, path))
    if callable(body):
        body = body(world)
    return url, body


def expected_statuses(path, caller):
    """What a caller who must not see the victim's data may get on a route (None: own data only)."""
    if path == "/me" or path.startswith("/me/"):
        return None if caller == "other patient" else {401}
    if path == "/patients":
        return None if caller == "clinician of another clinic" else {401}
    if caller in ("clinician of another clinic",):
        return {404}
    return {401}


@pytest.mark.parametrize("method,path", ROUTES, ids=[f"{m} {p}" for m, p in ROUTES])
def test_nobody_else_reaches_the_victims_data(client, conn, world, method, path):
    url, body = build_call(method, path, world)
    is_me = path == "/me" or path.startswith("/me/")
    owner = "victim's own patient token" if is_me else "victim's own clinician"
    markers = victim_markers(conn, world)
    before_victim_all = db_state(conn, world["patient_id"])
    for caller, headers in world["callers"].items():
        if caller == owner:
            continue
        allowed = expected_statuses(path, caller)
        before_all, before_victim = db_state(conn), db_state(conn, world["patient_id"])
        r = client.open(url, method=method, headers=headers, json=body)
        where = f"{caller}: {method} {url} -> {r.status_code}"
        assert r.status_code < 500, where
        text = r.get_data(as_text=True)
        sent = url + repr(body)
        leaked = [m for m in markers if m in text and m not in sent]
        assert not leaked, f"{where} leaked {leaked}: {text[:300]}"
        if allowed is None:
            # Acting on their own data is fine; the victim's rows must not move.
            assert db_state(conn, world["patient_id"]) == before_victim, where
            continue
        assert r.status_code in allowed, f"{where}: {text[:300]}"
        body_json = r.get_json()
        assert set(body_json) == {"code", "status", "message", "errors"}, where
        if r.status_code == 401:
            assert r.headers.get("WWW-Authenticate", "").startswith("Bearer"), where
        assert db_state(conn) == before_all, f"{where} wrote something"

    # Positive control: the rightful owner gets a 2xx with the same call, so the
    # refusals above are about who asked, not about a bogus sample.
    if (method, path) in OWNER_CONTROL_BODIES:
        control, status, field = OWNER_CONTROL_BODIES[(method, path)]
        r = client.open(url, method=method, headers=world["callers"][owner], json=control)
        assert r.status_code == status and field in r.get_json()["errors"]["json"], (
            owner,
            method,
            url,
            r.json,
        )
        assert db_state(conn, world["patient_id"]) == before_victim_all, (
            "the owner control changed the victim"
        )
        return
    r = client.open(url, method=method, headers=world["callers"][owner], json=body)
    assert 200 <= r.status_code < 300, (owner, method, url, r.status_code, r.get_data(as_text=True)[:300])


@pytest.mark.parametrize(
    "url",
    [
        "/me/entries",
        "/me/changes",
        "/me/doses",
        "/me/devices",
        "/me",
        "/patients/{patient_id}",
        "/patients/{patient_id}/entries",
        "/patients/{patient_id}/doses",
        "/patients/{patient_id}/devices",
    ],
)
def test_the_owner_does_see_the_markers(client, conn, world, url):
    """The leak check above can fail: the owner's answers carry the victim's markers."""
    headers = world["victim_headers"] if url.startswith("/me") else world["home_headers"]
    r = client.get(API + url.format(**world), headers=headers)
    assert r.status_code == 200
    assert MARK in r.get_data(as_text=True)


def test_the_other_patient_sees_only_their_own_diary(client, world):
    other = world["callers"]["other patient"]
    feed = client.get(f"{API}/me/changes", headers=other).json
    assert [e["notes"] for e in feed["entries"]] == ["attacker's own"]
    assert feed["doses"] == []
    r = client.get(f"{API}/me/entries/{world['day']}", headers=other)
    assert r.json["pain"] == 9 and MARK not in r.get_data(as_text=True)
    # The victim's day and dose are untouched by the attacker's writes under the same keys.
    r = client.post(f"{API}/me/sync", headers=other, json=SAMPLE_BODIES[("POST", "/me/sync")](world))
    assert r.status_code == 200
    mine = client.get(f"{API}/me/entries/{world['day']}", headers=world["victim_headers"]).json
    assert mine["notes"].startswith("notes-" + MARK)
    dose = client.get(f"{API}/me/doses/{world['dose_id']}", headers=world["victim_headers"])
    assert dose.status_code == 200 and dose.json["note"] == f"dose-{MARK}"


def test_the_other_clinic_does_not_list_the_victim(client, world):
    r = client.get(f"{API}/patients", headers=world["callers"]["clinician of another clinic"])
    assert r.status_code == 200
    assert r.json["patients"] == []
    r = client.get(f"{API}/patients", headers=world["home_headers"])
    assert world["patient_id"] in {p["id"] for p in r.json["patients"]}


def test_revoked_device_stays_revoked_and_the_other_device_works(client, world):
    assert client.get(f"{API}/me", headers=world["callers"]["revoked device"]).status_code == 401
    assert client.get(f"{API}/me", headers=world["victim_headers"]).status_code == 200
