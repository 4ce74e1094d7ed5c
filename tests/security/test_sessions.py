"""Sessions: clinician tokens and web sessions expire (12 h from login, 30 min idle), logout revokes,
and a patient or their clinician can list and revoke device tokens.

Time moves by rewriting the stored instants of token rows (web sessions hold a token too),
exactly what the clock would have done; the code under test is unchanged.
"""

from datetime import datetime, timedelta

from diary import auth
from diary import db as dbmod
from diary.clock import to_utc_text, utcnow
from tests.conftest import PASSWORD, bearer, make_clinic, make_patient

API = "/api/v1"


def _login(client, email):
    r = client.post(f"{API}/auth/login", json={"email": email, "password": PASSWORD})
    assert r.status_code == 200, r.json
    return r.json


def _set_token_times(conn, token, **ago):
    """Rewrite a token's created_at/last_used_at/expires_at to now minus the given timedeltas."""
    now = utcnow()
    with dbmod.write(conn):
        for column, delta in ago.items():
            conn.execute(
                f"UPDATE tokens SET {column} = ? WHERE token_hash = ?",
                (to_utc_text(now - delta), auth.sha256(token)),
            )


def _me_as_clinician(client, token):
    return client.get(f"{API}/patients", headers=bearer(token)).status_code


# -- clinician API tokens -----------------------------------------------------------


def test_login_issues_a_token_that_expires_12_hours_later(client, conn, clinic):
    before = utcnow()
    out = _login(client, clinic["email"])
    expires = datetime.fromisoformat(out["expires_at"])
    assert timedelta(hours=12) <= expires - before <= timedelta(hours=12, seconds=30)
    row = conn.execute("SELECT * FROM tokens WHERE token_hash = ?", (auth.sha256(out["token"]),)).fetchone()
    assert row["expires_at"] == out["expires_at"]


def test_token_works_until_12_hours_then_stops_although_in_use(client, conn, clinic):
    token = _login(client, clinic["email"])["token"]
    # 11 h 59 min after login, used a minute ago: still fine.
    _set_token_times(
        conn,
        token,
        created_at=timedelta(hours=11, minutes=59),
        expires_at=-timedelta(minutes=1),
        last_used_at=timedelta(minutes=1),
    )
    assert _me_as_clinician(client, token) == 200
    # 12 h after login: refused, although it was used a minute ago (not idle).
    _set_token_times(
        conn,
        token,
        created_at=timedelta(hours=12, seconds=1),
        expires_at=timedelta(seconds=1),
        last_used_at=timedelta(minutes=1),
    )
    r = client.get(f"{API}/patients", headers=bearer(token))
    assert r.status_code == 401 and r.headers["WWW-Authenticate"].startswith("Bearer")


def test_token_idle_for_30_minutes_stops(client, conn, clinic):
    token = _login(client, clinic["email"])["token"]
    _set_token_times(conn, token, last_used_at=timedelta(minutes=29))
    assert _me_as_clinician(client, token) == 200
    # That use counts as activity: the idle clock restarted.
    row = conn.execute(
        "SELECT last_used_at FROM tokens WHERE token_hash = ?", (auth.sha256(token),)
    ).fetchone()
    assert utcnow() - datetime.fromisoformat(row["last_used_at"]) < timedelta(minutes=1)
    _set_token_times(conn, token, last_used_at=timedelta(minutes=30, seconds=5))
    assert _me_as_clinician(client, token) == 401
    # And stays dead: the refused request did not refresh it.
    assert _me_as_clinician(client, token) == 401


def test_patient_device_tokens_do_not_expire_when_idle(client, conn, patient):
    _set_token_times(conn, patient["token"], created_at=timedelta(days=400), last_used_at=timedelta(days=90))
    assert client.get(f"{API}/me", headers=patient["headers"]).status_code == 200


def test_logout_revokes_only_the_presented_token(client, conn, clinic):
    first = _login(client, clinic["email"])["token"]
    second = _login(client, clinic["email"])["token"]
    assert client.post(f"{API}/auth/logout", headers=bearer(first)).status_code == 204
    assert _me_as_clinician(client, first) == 401
    assert client.post(f"{API}/auth/logout", headers=bearer(first)).status_code == 401
    assert _me_as_clinician(client, second) == 200
    row = conn.execute("SELECT revoked_at FROM tokens WHERE token_hash = ?", (auth.sha256(first),)).fetchone()
    assert row["revoked_at"] is not None


def test_patient_logout_revokes_the_device(client, patient):
    assert client.post(f"{API}/auth/logout", headers=patient["headers"]).status_code == 204
    assert client.get(f"{API}/me", headers=patient["headers"]).status_code == 401


# -- device tokens ------------------------------------------------------------------


def _second_device(client, clinic, patient_id, name="tablet"):
    code = client.post(f"{API}/patients/{patient_id}/enrollment-code", headers=clinic["headers"]).json
    r = client.post(f"{API}/enroll", json={"code": code["enrollment_code"], "device_name": name})
    assert r.status_code == 201
    return bearer(r.json["token"])


def _device_id(devices, name):
    return next(d["id"] for d in devices if d["device_name"] == name)


def test_patient_lists_and_revokes_their_devices(client, clinic, patient):
    tablet = _second_device(client, clinic, patient["id"])
    devices = client.get(f"{API}/me/devices", headers=patient["headers"]).json["devices"]
    assert {d["device_name"] for d in devices} == {"phone-1", "tablet"}
    assert all(set(d) == {"id", "device_name", "created_at", "last_used_at", "revoked_at"} for d in devices)
    tablet_id = _device_id(devices, "tablet")
    assert client.delete(f"{API}/me/devices/{tablet_id}", headers=patient["headers"]).status_code == 204
    assert client.get(f"{API}/me", headers=tablet).status_code == 401
    assert client.get(f"{API}/me", headers=patient["headers"]).status_code == 200
    listed = client.get(f"{API}/me/devices", headers=patient["headers"]).json["devices"]
    assert next(d for d in listed if d["id"] == tablet_id)["revoked_at"] is not None


def test_patient_cannot_revoke_another_patients_device(client, clinic, patient):
    other = make_patient(client, clinic, name="Other", device="other-phone")
    other_id = _device_id(
        client.get(f"{API}/me/devices", headers=other["headers"]).json["devices"], "other-phone"
    )
    assert client.delete(f"{API}/me/devices/{other_id}", headers=patient["headers"]).status_code == 404
    assert client.get(f"{API}/me", headers=other["headers"]).status_code == 200


def test_clinician_lists_and_revokes_a_patients_devices(client, conn, clinic, patient):
    tablet = _second_device(client, clinic, patient["id"])
    r = client.get(f"{API}/patients/{patient['id']}/devices", headers=clinic["headers"])
    assert r.status_code == 200
    assert {d["device_name"] for d in r.json["devices"]} == {"phone-1", "tablet"}
    assert "token" not in r.get_data(as_text=True).replace("token_", "")
    tablet_id = _device_id(r.json["devices"], "tablet")
    r = client.delete(f"{API}/patients/{patient['id']}/devices/{tablet_id}", headers=clinic["headers"])
    assert r.status_code == 204
    assert client.get(f"{API}/me", headers=tablet).status_code == 401
    assert client.get(f"{API}/me", headers=patient["headers"]).status_code == 200
    actions = [
        row["action"]
        for row in conn.execute(
            "SELECT action FROM audit_log WHERE patient_id = ? AND actor_id = ? ORDER BY id",
            (patient["id"], str(clinic["clinician_id"])),
        )
    ]
    assert "list_devices" in actions and "revoke_device" in actions


def test_clinician_device_routes_stop_at_the_clinic_and_the_patient(client, conn, clinic, patient):
    away = make_clinic(conn, "Away Clinic")
    other = make_patient(client, clinic, name="Other", device="other-phone")
    phone_id = _device_id(
        client.get(f"{API}/me/devices", headers=patient["headers"]).json["devices"], "phone-1"
    )
    other_id = _device_id(
        client.get(f"{API}/me/devices", headers=other["headers"]).json["devices"], "other-phone"
    )
    base = f"{API}/patients/{patient['id']}/devices"
    # Another clinic's clinician: the patient does not exist for them.
    assert client.get(base, headers=away["headers"]).status_code == 404
    assert client.delete(f"{base}/{phone_id}", headers=away["headers"]).status_code == 404
    # A device of another patient of the same clinic, through this patient's path: 404.
    assert client.delete(f"{base}/{other_id}", headers=clinic["headers"]).status_code == 404
    assert client.delete(f"{base}/999999", headers=clinic["headers"]).status_code == 404
    # A patient token is not a clinician token.
    assert client.get(base, headers=patient["headers"]).status_code == 401
    for headers in (patient["headers"], other["headers"]):
        assert client.get(f"{API}/me", headers=headers).status_code == 200


# -- the web session ----------------------------------------------------------------


def _web_login(client, email):
    page = client.get("/login").get_data(as_text=True)
    csrf = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    r = client.post("/login", data={"email": email, "password": PASSWORD, "csrf_token": csrf})
    assert r.status_code == 303, r.get_data(as_text=True)[:300]


def _session_token(client):
    with client.session_transaction() as session:
        return session["token"]


def _is_logged_in(client):
    r = client.get("/patients")
    if r.status_code == 302:
        assert "/login" in r.headers["Location"]
        return False
    assert r.status_code == 200
    return True


def test_web_session_ends_12_hours_after_login_although_in_use(client, conn, clinic):
    _web_login(client, clinic["email"])
    token = _session_token(client)
    _set_token_times(
        conn,
        token,
        created_at=timedelta(hours=11, minutes=59),
        expires_at=-timedelta(minutes=1),
        last_used_at=timedelta(minutes=1),
    )
    assert _is_logged_in(client)
    _set_token_times(
        conn,
        token,
        created_at=timedelta(hours=12, seconds=5),
        expires_at=timedelta(seconds=5),
        last_used_at=timedelta(minutes=1),
    )
    assert not _is_logged_in(client)
    with client.session_transaction() as session:
        assert "token" not in session


def test_web_session_ends_after_30_idle_minutes(client, conn, clinic):
    _web_login(client, clinic["email"])
    token = _session_token(client)
    _set_token_times(conn, token, last_used_at=timedelta(minutes=29))
    assert _is_logged_in(client)
    seen = conn.execute(
        "SELECT last_used_at FROM tokens WHERE token_hash = ?", (auth.sha256(token),)
    ).fetchone()[0]
    assert utcnow() - datetime.fromisoformat(seen) < timedelta(minutes=1), "a page view counts as activity"
    _set_token_times(conn, token, last_used_at=timedelta(minutes=30, seconds=5))
    assert not _is_logged_in(client)


def test_copied_web_cookie_stops_working_after_logout(app, clinic):
    browser = app.test_client()
    _web_login(browser, clinic["email"])
    cookie = browser.get_cookie("session").value
    thief = app.test_client()
    thief.set_cookie("session", cookie)
    assert _is_logged_in(thief)
    page = browser.get("/patients").get_data(as_text=True)
    csrf = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    assert browser.post("/logout", data={"csrf_token": csrf}).status_code == 303
    assert not _is_logged_in(thief), "logout revokes the session on the server, not only in one browser"


def test_web_logout_ends_the_session(client, clinic):
    _web_login(client, clinic["email"])
    assert _is_logged_in(client)
    page = client.get("/patients").get_data(as_text=True)
    csrf = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    assert client.post("/logout", data={"csrf_token": csrf}).status_code == 303
    assert not _is_logged_in(client)


# -- idle refresh granularity ---------------------------------------------------------


def _age_token(conn, token, seconds):
    """Move a token's recorded instants ``seconds`` into the past, as if that much time had passed."""
    row = conn.execute(
        "SELECT created_at, last_used_at FROM tokens WHERE token_hash = ?", (auth.sha256(token),)
    ).fetchone()
    with dbmod.write(conn):
        conn.execute(
            "UPDATE tokens SET created_at = ?, last_used_at = ? WHERE token_hash = ?",
            (
                to_utc_text(datetime.fromisoformat(row["created_at"]) - timedelta(seconds=seconds)),
                to_utc_text(
                    datetime.fromisoformat(row["last_used_at"] or row["created_at"])
                    - timedelta(seconds=seconds)
                ),
                auth.sha256(token),
            ),
        )


def test_a_short_idle_window_is_an_idle_timeout_not_a_fixed_lifetime(app, client, conn, clinic):
    # One idle minute, a request every 40 s: the session must stay alive as long as it is used.
    app.config["CLINICIAN_IDLE_MINUTES"] = 1
    token = _login(client, clinic["email"])["token"]
    for _ in range(4):
        _age_token(conn, token, 40)
        assert _me_as_clinician(client, token) == 200
    # And it still ends after a minute without use.
    _age_token(conn, token, 61)
    assert _me_as_clinician(client, token) == 401


def test_last_used_is_refreshed_at_most_every_quarter_of_the_idle_window():
    assert auth.touch_interval_seconds(30) == 60  # the usual 30 minutes: at most once a minute
    assert auth.touch_interval_seconds(1) == 15
    assert auth.touch_interval_seconds(2) == 30
    assert auth.touch_interval_seconds(0) == 60  # no idle limit
