"""The patient app's files at /app/: its own CSP, the service worker's list, the size budget, one origin."""

import gzip
import json
import re
import shutil

import pytest

from diary.web import patient_app
from tests.security.test_headers import _directives, assert_page_headers

APP = patient_app.ROOT
BUDGET_BYTES = 80 * 1024
CODE_SUFFIXES = (".html", ".css", ".js", ".json", ".webmanifest")


def shell_code_files():
    """The shell's HTML, CSS, JS and text files (icons aside), the service worker included."""
    return sorted(p for p in APP.rglob("*") if p.is_file() and p.suffix in CODE_SUFFIXES)


@pytest.mark.parametrize("path", ["/app/", "/app/enroll"])
def test_the_shell_has_its_own_csp_scripts_from_self_only(client, path):
    r = client.get(path)
    assert r.status_code == 200 and r.mimetype == "text/html"
    d = _directives(r.headers["Content-Security-Policy"])
    assert d["default-src"] == ["'none'"]
    assert d["script-src"] == ["'self'"] and d["connect-src"] == ["'self'"]
    assert d["frame-ancestors"] == ["'none'"] and d["base-uri"] == ["'none'"]
    csp = r.headers["Content-Security-Policy"]
    assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp and "http" not in csp
    assert r.headers["X-Frame-Options"] == "DENY" and r.headers["X-Content-Type-Options"] == "nosniff"
    html = r.get_data(as_text=True)
    # No inline script: every <script> has a src and nothing inside, and no on*= handler attributes.
    scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", html, re.I | re.S)
    assert scripts and all('src="' in attrs and not body.strip() for attrs, body in scripts), scripts
    assert not re.search(r"\son[a-z]+\s*=", html)


def test_the_app_does_not_weaken_the_clinician_pages(client, clinic):
    assert client.get("/app/").status_code == 200
    assert_page_headers(client.get("/login"))
    # An error page under /app/ still allows no inline script.
    r = client.get("/app/no-such-file.txt")
    assert r.status_code == 404
    assert "'unsafe-inline'" not in r.headers["Content-Security-Policy"]


def test_bare_app_redirects_into_the_app(client):
    r = client.get("/app")
    assert r.status_code == 308 and r.headers["Location"].endswith("/app/")


@pytest.mark.parametrize(
    "path", ["/app/../wsgi.py", "/app/%2e%2e/wsgi.py", "/app/js/../../patient_app.py", "/app/x.py"]
)
def test_only_shell_files_are_served(client, path):
    assert client.get(path).status_code == 404


def test_the_shell_is_revalidated_and_api_answers_are_never_stored(client, patient):
    r = client.get("/app/js/main.js")
    assert r.status_code == 200 and r.mimetype in ("text/javascript", "application/javascript")
    assert r.headers["Cache-Control"] == "no-cache" and r.headers.get("ETag")
    again = client.get("/app/js/main.js", headers={"If-None-Match": r.headers["ETag"]})
    assert again.status_code == 304
    assert client.get("/api/v1/me/regimen", headers=patient["headers"]).headers["Cache-Control"] == "no-store"
    manifest = client.get("/app/manifest.webmanifest")
    assert manifest.mimetype == "application/manifest+json"
    assert json.loads(manifest.get_data())["start_url"] == "./"


def test_the_service_worker_lists_every_shell_file_and_each_is_served(client):
    r = client.get("/app/sw.js")
    assert r.status_code == 200 and r.mimetype == "text/javascript"
    assert r.headers["Cache-Control"] == "no-cache"
    body = r.get_data(as_text=True)
    shell = json.loads(re.search(r"^const SHELL = (.*);$", body, re.M).group(1))
    on_disk = {
        f"./{p.relative_to(APP).as_posix()}" for p in APP.rglob("*") if p.is_file() and p.name != "sw.js"
    }
    assert on_disk <= set(shell)
    for url in shell:
        assert client.get("/app/" + url[2:]).status_code == 200, url


def test_a_changed_file_is_a_new_service_worker_version(tmp_path):
    copy = tmp_path / "app"
    shutil.copytree(APP, copy)
    first = patient_app._service_worker(copy)
    (copy / "app.css").write_text((copy / "app.css").read_text() + "\n/* changed */\n")
    patient_app._service_worker.cache_clear()
    second = patient_app._service_worker(copy)
    version = re.compile(r'^const VERSION = "([0-9a-f]{16})";$', re.M)
    assert version.search(first).group(1) != version.search(second).group(1)


def test_the_shell_fits_the_size_budget():
    """HTML, CSS, JS and texts together at most 80 KB gzipped (no build step: what is on disk is served)."""
    sizes = {p.relative_to(APP).as_posix(): len(gzip.compress(p.read_bytes(), 9)) for p in shell_code_files()}
    total = sum(sizes.values())
    print(f"app shell: {len(sizes)} files, {total} bytes gzipped of {BUDGET_BYTES}")
    assert total <= BUDGET_BYTES, sizes
    assert any(name.endswith(".js") for name in sizes) and "index.html" in sizes


def test_nothing_loads_from_another_origin():
    url = re.compile(r"""(?:https?:)?//[A-Za-z0-9.-]+\.[A-Za-z]{2,}""")
    for path in shell_code_files():
        text = path.read_text(encoding="utf-8")
        for found in url.findall(text):
            assert False, f"{path.name} names another origin: {found}"
    for path in APP.rglob("*.js"):
        for spec in re.findall(r"""^\s*import\b[^'"]*['"]([^'"]+)['"]""", path.read_text(), re.M):
            assert spec.startswith(("./", "../")), (path.name, spec)


def test_no_build_step_and_no_vendored_code_without_a_licence():
    """Plain ES modules: nothing to build, so what is served is always up to date."""
    assert not list(APP.rglob("package.json")) and not list(APP.rglob("node_modules"))
    vendored = [p for p in APP.rglob("*") if "vendor" in p.parts]
    for path in vendored:
        assert (path.parent / "LICENSE").exists() or path.name == "LICENSE", path


def test_every_text_the_app_uses_is_in_english_and_every_language_has_them_all():
    english = json.loads((APP / "i18n" / "en.json").read_text(encoding="utf-8"))
    used = set()
    for path in APP.rglob("*.js"):
        used |= set(re.findall(r"""\bt\(\s*"([a-z_]+\.[a-z_.]+)""", path.read_text()))
    missing = sorted(k for k in used if k not in english and f"{k}.other" not in english)
    assert missing == []
    for path in (APP / "i18n").glob("*.json"):
        if path.name in ("en.json", "languages.json"):
            continue
        other = json.loads(path.read_text(encoding="utf-8"))
        assert set(other) == set(english), path.name


def test_languages_are_listed_english_first(client, tmp_path):
    assert client.get("/app/i18n/languages.json").json == {"languages": ["en"]}
    (tmp_path / "i18n").mkdir()
    for code in ("de", "en", "fr"):
        (tmp_path / "i18n" / f"{code}.json").write_text("{}")
    assert patient_app.languages(tmp_path) == ["en", "de", "fr"]
