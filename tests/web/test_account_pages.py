"""Account pages: change password (other sessions end), clinic admins add and deactivate clinicians."""

import re
from datetime import timedelta

import pytest

from diary.clock import to_utc_text, utcnow
from tests.conftest import PASSWORD, make_clinic
from tests.web.conftest import Web, csrf_of

NEW_PASSWORD = "a-brand-new-passphrase"


def text(r):
    return r.get_data(as_text=True)


def login_status(app, email, password):
    client = app.test_client()
    token = csrf_of(text(client.get("/login")))
    return client.post("/login", data={"csrf_token": token, "email": email, "password": password}).status_code


def test_change_password_ends_other_sessions_and_keeps_this_one(app, web, conn):
    other = Web(app.test_client(), web.clinic).login()
    api = app.test_client().post(
        "/api/v1/auth/login", json={"email": web.clinic["email"], "password": PASSWORD}
    )
    bearer = {"Authorization": "Bearer " + api.json["token"]}
    r = web.post("/account/password", {"current_password": PASSWORD, "new_password": NEW_PASSWORD})
    assert r.status_code == 303
    assert "Password changed" in text(web.get(r.headers["Location"]))
    assert web.get("/patients").status_code == 200
    assert other.get("/patients").status_code == 302
    assert app.test_client().get("/api/v1/patients", headers=bearer).status_code == 401
    assert login_status(app, web.clinic["email"], PASSWORD) == 401
    assert login_status(app, web.clinic["email"], NEW_PASSWORD) == 303


@pytest.mark.parametrize(
    "current, new, field",
    [
        ("wrong-password-entirely", NEW_PASSWORD, "current_password"),
        (PASSWORD, "short", "new_password"),
        (PASSWORD, "", "new_password"),
        (PASSWORD, "x" * 1025, "new_password"),
    ],
)
def test_change_password_refusals(app, web, conn, current, new, field):
    before = conn.execute(
        "SELECT password_hash FROM clinicians WHERE id = ?", (web.clinic["clinician_id"],)
    ).fetchone()
    r = web.post("/account/password", {"current_password": current, "new_password": new})
    assert r.status_code == 422
    assert re.search(rf'id="{field}-error">[^<]+<', text(r))
    after = conn.execute(
        "SELECT password_hash FROM clinicians WHERE id = ?", (web.clinic["clinician_id"],)
    ).fetchone()
    assert before[0] == after[0]
    assert (
        web.post(
            "/account/password", {"current_password": PASSWORD, "new_password": NEW_PASSWORD}, csrf=False
        ).status_code
        == 400
    )


def test_clinicians_page_is_for_admins_only(app, conn):
    plain = Web(app.test_client(), make_clinic(conn, "Plain Clinic")).login()
    assert plain.get("/clinic/clinicians").status_code == 404
    assert plain.post("/clinic/clinicians", {"email": "a@b.example", "name": "A"}).status_code == 404
    assert plain.post("/clinic/clinicians/1/deactivate").status_code == 404
    assert "Clinicians</a>" not in text(plain.get("/patients"))


def add_clinician(web, email="new.doc@clinic.example", name="Dr New"):
    r = web.post("/clinic/clinicians", {"email": email, "name": name})
    assert r.status_code == 201, text(r)
    return re.search(r'id="password-link">([^<]+)<', text(r)).group(1)


def test_added_clinician_sets_a_password_once_through_the_link(app, web, conn):
    link = add_clinician(web)
    path = link.split("localhost", 1)[1]
    token = path.rsplit("/", 1)[1]
    stored = conn.execute("SELECT token_hash FROM password_links").fetchone()[0]
    assert token not in stored and len(stored) == 64  # only its hash is kept
    assert login_status(app, "new.doc@clinic.example", "anything-at-all-long") == 401  # no password yet
    newcomer = app.test_client()
    page = text(newcomer.get(path))
    assert "new.doc@clinic.example" in page
    r = newcomer.post(path, data={"csrf_token": csrf_of(page), "new_password": "short"})
    assert r.status_code == 422 and 'id="new_password-error"' in text(r)
    r = newcomer.post(path, data={"csrf_token": csrf_of(page), "new_password": NEW_PASSWORD})
    assert r.status_code == 303
    assert login_status(app, "new.doc@clinic.example", NEW_PASSWORD) == 303
    assert newcomer.get(path).status_code == 404  # one time only
    assert app.test_client().get("/account/set-password/not-a-token").status_code == 404


def test_a_link_expires_after_72_hours(app, web, conn):
    link = add_clinician(web)
    conn.execute("UPDATE password_links SET expires_at = ?", (to_utc_text(utcnow() - timedelta(minutes=1)),))
    assert app.test_client().get(link.split("localhost", 1)[1]).status_code == 404


@pytest.mark.parametrize(
    "email, name, field",
    [
        ("not-an-email", "Dr X", "email"),
        ("", "Dr X", "email"),
        ("x@clinic.example", "", "name"),
        ("x@clinic.example", "Dr\u202eX", "name"),
        ("x@clinic.example", "n" * 101, "name"),
    ],
)
def test_add_clinician_refusals(web, conn, email, name, field):
    before = conn.execute("SELECT count(*) FROM clinicians").fetchone()[0]
    r = web.post("/clinic/clinicians", {"email": email, "name": name})
    assert r.status_code == 422
    assert re.search(rf'id="{field}-error">[^<]+<', text(r)), text(r)
    assert conn.execute("SELECT count(*) FROM clinicians").fetchone()[0] == before


def test_an_existing_email_is_refused(web, conn):
    r = web.post("/clinic/clinicians", {"email": web.clinic["email"], "name": "Twin"})
    assert r.status_code == 422 and re.search(r'id="email-error">[^<]*exists', text(r))


def test_deactivated_clinician_loses_sessions_tokens_and_login(app, web, conn):
    colleague = make_clinic(conn, "Elsewhere")
    # Move the colleague into the admin's clinic.
    conn.execute(
        "UPDATE clinicians SET clinic_id = ? WHERE id = ?",
        (web.clinic["clinic_id"], colleague["clinician_id"]),
    )
    session = Web(app.test_client(), colleague).login()
    assert session.get("/patients").status_code == 200
    r = web.post(f"/clinic/clinicians/{colleague['clinician_id']}/deactivate")
    assert r.status_code == 303
    assert session.get("/patients").status_code == 302
    assert app.test_client().get("/api/v1/patients", headers=colleague["headers"]).status_code == 401
    assert login_status(app, colleague["email"], PASSWORD) == 401
    assert "deactivated" in text(web.get("/clinic/clinicians"))


def test_deactivate_refusals(web, conn):
    other = make_clinic(conn, "Not Ours")
    assert web.post(f"/clinic/clinicians/{other['clinician_id']}/deactivate").status_code == 404
    assert web.post("/clinic/clinicians/99999999999999999999/deactivate").status_code == 404
    assert web.post(f"/clinic/clinicians/{web.clinic['clinician_id']}/deactivate").status_code == 409
    assert web.post(f"/clinic/clinicians/{other['clinician_id']}/deactivate", csrf=False).status_code == 400
    assert conn.execute("SELECT count(*) FROM clinicians WHERE deactivated_at IS NOT NULL").fetchone()[0] == 0


def test_create_clinician_admin_flag(tmp_path):
    from click.testing import CliRunner

    from diary import db as dbmod
    from diary.cli import main

    path = str(tmp_path / "cli.sqlite3")
    runner = CliRunner(env={"DIARY_DATABASE": path})
    assert runner.invoke(main, ["create-clinic", "North Clinic"]).exit_code == 0
    for email, extra in (("admin@clinic.example", ["--admin"]), ("plain@clinic.example", [])):
        result = runner.invoke(
            main,
            ["create-clinician", "--clinic-id", "1", "--email", email, "--name", "Dr A", *extra],
            input="long-enough-password\n",
        )
        assert result.exit_code == 0, result.output
    conn = dbmod.connect(path)
    try:
        rows = dict(conn.execute("SELECT email, is_admin FROM clinicians").fetchall())
        assert rows == {"admin@clinic.example": 1, "plain@clinic.example": 0}
    finally:
        conn.close()
