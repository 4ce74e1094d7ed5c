"""After login the browser follows ``next`` only to a same-site path: no open redirect, never a 500."""

import pytest

from diary.web.redirects import safe_next
from tests.conftest import PASSWORD

# Each of these leaves the site in some browser, or breaks the Location header.
HOSTILE = [
    "//evil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r\n/evil.example",
    "/\\evil.example",
    "/\\/evil.example",
    "\\\\evil.example",
    "/%09/evil.example",
    "/%2F/evil.example",
    "/%2f%2fevil.example",
    "/%5C/evil.example",
    "/%5cevil.example",
    "/%252F/evil.example",
    "/%0d%0aSet-Cookie:%20x=1",
    "https://evil.example/patients",
    "http:/evil.example",
    "javascript:alert(1)",
    "data:text/html,hi",
    "evil.example",
    "patients",
    " /patients",
    "/patients\x00",
    "/patients\x85",
    "/\u202e/evil.example",
    "/\uff0f/evil.example",
    "",
    None,
]
KEPT = [
    "/patients",
    "/patients/7d0c9a8e-2c1b-4f7e-9d0a-1f2e3d4c5b6a/report?from=2026-01-01&to=2026-03-31",
    "/patients/abc/reports/def",
    "/",
]


@pytest.mark.parametrize("target", HOSTILE)
def test_hostile_next_is_refused(target):
    assert safe_next(target) is None


@pytest.mark.parametrize("target", KEPT)
def test_same_site_paths_are_kept(target):
    assert safe_next(target) == target


def _login(client, email, query):
    page = client.get("/login").get_data(as_text=True)
    csrf = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    return client.post("/login" + query, data={"email": email, "password": PASSWORD, "csrf_token": csrf})


@pytest.mark.parametrize(
    "query",
    ["?next=/%09/evil.example", "?next=/%0d%0aLocation:%20//evil.example", "?next=/%5C/evil.example"],
)
def test_login_never_redirects_off_site(client, clinic, query):
    r = _login(client, clinic["email"], query)
    assert r.status_code == 303
    assert r.headers["Location"] == "/patients"


def test_login_follows_a_same_site_next(client, clinic):
    target = "/patients/abc/report?from=2026-01-01&to=2026-01-31"
    r = _login(client, clinic["email"], "?next=" + target.replace("&", "%26"))
    assert r.status_code == 303
    assert r.headers["Location"] == target
