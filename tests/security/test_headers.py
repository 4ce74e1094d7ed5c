"""Pages and headers: a CSP without script, no framing, no caching of patient data, safe session
cookies, HTML error pages outside the API, and CORS only for configured origins."""

import re

import pytest

from diary import create_app
from tests.conftest import PASSWORD

API = "/api/v1"


def _directives(csp):
    out = {}
    for part in csp.split(";"):
        words = part.split()
        if words:
            out[words[0]] = words[1:]
    return out


def assert_page_headers(r):
    """The headers every HTML response must carry."""
    csp = r.headers.get("Content-Security-Policy")
    assert csp, (r.request.path, r.status_code)
    d = _directives(csp)
    assert d.get("frame-ancestors") == ["'none'"]
    assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp
    # Scripts: none at all. Either script-src is 'none', or it falls back to default-src 'none'.
    script = d.get("script-src", d.get("default-src"))
    assert script == ["'none'"], csp
    assert d.get("default-src") == ["'none'"]
    assert r.headers.get("Cache-Control") == "no-store"
    assert r.headers.get("X-Content-Type-Options") == "nosniff"
    assert r.headers.get("X-Frame-Options") == "DENY"
    assert r.mimetype == "text/html"
    assert "<script" not in r.get_data(as_text=True).lower()
    assert not re.search(r"\son[a-z]+\s*=", r.get_data(as_text=True)), "no inline event handlers"


def _csrf(html):
    return html.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]


def _web_login(client, email):
    csrf = _csrf(client.get("/login").get_data(as_text=True))
    r = client.post("/login", data={"email": email, "password": PASSWORD, "csrf_token": csrf})
    assert r.status_code == 303
    return r


def _set_cookie(r, name="session"):
    cookies = [v for v in r.headers.getlist("Set-Cookie") if v.startswith(name + "=")]
    assert cookies, r.headers
    return [a.strip().lower() for a in cookies[-1].split(";")]


def test_every_page_sends_the_no_script_csp_and_no_store(client, clinic, patient):
    assert_page_headers(client.get("/login"))
    _web_login(client, clinic["email"])
    assert_page_headers(client.get("/patients"))
    report = client.get(f"/patients/{patient['id']}/report")
    assert report.status_code == 200
    assert_page_headers(report)


def test_api_responses_with_patient_data_are_not_cached(client, clinic, patient):
    for url, headers in (
        (f"{API}/me", patient["headers"]),
        (f"{API}/me/entries", patient["headers"]),
        (f"{API}/patients/{patient['id']}", clinic["headers"]),
        (f"{API}/patients/{patient['id']}/report", clinic["headers"]),
        (f"{API}/patients/{patient['id']}/export.csv", clinic["headers"]),
    ):
        r = client.get(url, headers=headers)
        assert r.status_code == 200, url
        assert r.headers["Cache-Control"] == "no-store", url
        assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"], url
    r = client.get(f"{API}/me")
    assert r.status_code == 401 and r.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize(
    "method,path,status",
    [
        ("GET", "/no-such-page", 404),
        ("GET", "/patients/no-such-patient/report/extra", 404),
        ("DELETE", "/login", 405),
        ("POST", "/login", 400),  # no CSRF token
        ("POST", "/logout", 400),
    ],
)
def test_page_errors_are_html_pages_with_the_same_headers(client, method, path, status):
    r = client.open(path, method=method)
    assert r.status_code == status
    assert_page_headers(r)
    body = r.get_data(as_text=True)
    assert body.lstrip().lower().startswith("<!doctype html>") and str(status) in body


def test_an_unknown_patient_report_page_is_an_html_404(client, clinic):
    _web_login(client, clinic["email"])
    r = client.get("/patients/00000000-0000-0000-0000-000000000000/report")
    assert r.status_code == 404
    assert_page_headers(r)


def test_api_errors_stay_json(client):
    for method, path, status in (("GET", f"{API}/nope", 404), ("DELETE", f"{API}/auth/login", 405)):
        r = client.open(path, method=method)
        assert r.status_code == status and r.is_json
        assert set(r.json) == {"code", "status", "message", "errors"}


def test_a_page_crash_is_an_html_500_without_the_exception_text(db_path):
    app = create_app({"DATABASE": db_path})

    @app.get("/boom")
    def boom():
        raise ValueError("pain 9, notes: secret-note")

    r = app.test_client().get("/boom")
    assert r.status_code == 500
    assert_page_headers(r)
    assert "secret-note" not in r.get_data(as_text=True)


def test_session_cookie_is_httponly_and_samesite_and_not_secure_in_development(client, clinic):
    attrs = _set_cookie(_web_login(client, clinic["email"]))
    assert "httponly" in attrs and "samesite=lax" in attrs
    assert "secure" not in attrs


def test_session_cookie_is_secure_in_production(db_path, conn, clinic):
    app = create_app(
        environ={"DIARY_PRODUCTION": "true", "DIARY_DATABASE": db_path, "DIARY_SECRET_KEY": "x" * 40}
    )
    assert app.config["SESSION_COOKIE_SECURE"] is True
    client = app.test_client()
    attrs = _set_cookie(_web_login(client, clinic["email"]))
    assert {"secure", "httponly", "samesite=lax"} <= set(attrs)


# -- CORS -------------------------------------------------------------------------


def _preflight(client, path, origin, method="GET"):
    return client.options(
        path,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": "authorization",
        },
    )


def test_cors_is_off_by_default(client, patient):
    r = _preflight(client, f"{API}/me", "https://app.example")
    assert "Access-Control-Allow-Origin" not in r.headers
    r = client.get(f"{API}/me", headers={**patient["headers"], "Origin": "https://app.example"})
    assert r.status_code == 200 and "Access-Control-Allow-Origin" not in r.headers


def test_cors_answers_only_listed_origins_and_only_on_the_api(db_path, conn):
    from tests.conftest import make_clinic, make_patient

    app = create_app({"DATABASE": db_path, "CORS_ORIGINS": "https://app.example, https://other.example/"})
    client = app.test_client()
    patient = make_patient(client, make_clinic(conn))
    r = _preflight(client, f"{API}/me/entries/2026-01-01", "https://app.example", "PUT")
    assert r.status_code == 204
    assert r.headers["Access-Control-Allow-Origin"] == "https://app.example"
    assert "PUT" in r.headers["Access-Control-Allow-Methods"]
    assert "authorization" in r.headers["Access-Control-Allow-Headers"].lower()
    assert "Origin" in r.headers["Vary"]
    assert "Access-Control-Allow-Credentials" not in r.headers
    r = client.get(f"{API}/me", headers={**patient["headers"], "Origin": "https://other.example"})
    assert r.status_code == 200 and r.headers["Access-Control-Allow-Origin"] == "https://other.example"
    # Unlisted origins, look-alikes and the clinician pages get nothing.
    for origin in ("https://evil.example", "https://app.example.evil.example", "http://app.example", "null"):
        r = _preflight(client, f"{API}/me", origin)
        assert "Access-Control-Allow-Origin" not in r.headers, origin
        r = client.get(f"{API}/me", headers={**patient["headers"], "Origin": origin})
        assert "Access-Control-Allow-Origin" not in r.headers, origin
    r = client.get("/login", headers={"Origin": "https://app.example"})
    assert "Access-Control-Allow-Origin" not in r.headers
    # A preflight is not a way around the token: the real request still needs it.
    r = client.get(f"{API}/me", headers={"Origin": "https://app.example"})
    assert r.status_code == 401 and r.headers["Access-Control-Allow-Origin"] == "https://app.example"
