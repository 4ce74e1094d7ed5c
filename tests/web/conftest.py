"""Fixtures of the clinic page tests: a real SQLite file, a clinic with an admin, a logged-in browser session."""

import pytest

from tests.conftest import PASSWORD, csrf_of, make_clinic


class Web:
    """A logged-in test client: get pages, post forms with the page's CSRF token."""

    def __init__(self, client, clinic):
        self.client = client
        self.clinic = clinic
        self.token = None

    def login(self):
        page = self.client.get("/login").get_data(as_text=True)
        r = self.client.post(
            "/login", data={"csrf_token": csrf_of(page), "email": self.clinic["email"], "password": PASSWORD}
        )
        assert r.status_code == 303, r.get_data(as_text=True)
        self.token = csrf_of(self.client.get("/patients").get_data(as_text=True))
        return self

    def get(self, url, **kwargs):
        return self.client.get(url, **kwargs)

    def post(self, url, data=None, csrf=True, **kwargs):
        data = dict(data or {})
        if csrf:
            data.setdefault("csrf_token", self.token)
        return self.client.post(url, data=data, **kwargs)

    def add_patient(self, name="Pat Page", zone="Europe/London", ref=None):
        r = self.post("/patients/new", {"display_name": name, "timezone": zone, "external_ref": ref or ""})
        assert r.status_code == 303, r.get_data(as_text=True)
        return r.headers["Location"].rsplit("/", 1)[1]


def make_admin(conn, clinic):
    from diary.db import write

    with write(conn):
        conn.execute("UPDATE clinicians SET is_admin = 1 WHERE id = ?", (clinic["clinician_id"],))
    return clinic


@pytest.fixture
def web(app, conn, clinic):
    make_admin(conn, clinic)
    return Web(app.test_client(), clinic).login()


@pytest.fixture
def other_web(app, conn):
    """A clinician of another clinic, logged in."""
    return Web(app.test_client(), make_clinic(conn, "South Clinic")).login()


def audit_actions(conn, patient_id):
    return [
        r[0]
        for r in conn.execute("SELECT action FROM audit_log WHERE patient_id = ? ORDER BY id", (patient_id,))
    ]
