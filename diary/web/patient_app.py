"""The patient app at /app/: static files of an offline-first web app (plain ES modules, no build).

The shell (HTML, CSS, JS, text files) holds no patient data: the app fetches
that from the API with the device token it keeps in IndexedDB. The service
worker precaches the shell; its list and version come from the files on disk,
so a changed file is a new version without a build step.
"""

import functools
import hashlib
import json
from pathlib import Path

from flask import Blueprint, Response, abort, current_app, redirect, send_from_directory

ROOT = Path(__file__).with_name("app")
PREFIX = "/app"
# The app may run its own scripts and talk to this origin only; nothing loads from elsewhere.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; manifest-src 'self'; worker-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
# Files the service worker precaches; the app cannot start offline without any of them.
SHELL_SUFFIXES = (".html", ".css", ".js", ".json", ".webmanifest", ".svg", ".png")
TEXT_DIR = "i18n"

bp = Blueprint("patient_app", __name__, url_prefix=PREFIX)


@bp.after_request
def app_headers(response):
    """The app's own CSP; the shell is revalidated (ETag) rather than stored blindly."""
    response.headers["Content-Security-Policy"] = CSP
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers.setdefault("Cache-Control", "no-cache")
    return response


def shell_files(root=ROOT):
    """Paths (relative, posix) of every shell file, sorted; the service worker itself excluded."""
    return sorted(
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.is_file() and p.suffix in SHELL_SUFFIXES and p.name != "sw.js"
    )


def languages(root=ROOT):
    """Language codes with a text file, English first (the fallback)."""
    codes = sorted(p.stem for p in (root / TEXT_DIR).glob("*.json") if p.stem != "languages")
    return sorted(codes, key=lambda c: c != "en")


@functools.cache
def _service_worker(root=ROOT):
    files = shell_files(root)
    digest = hashlib.sha256()
    for name in files + ["sw.js"]:
        digest.update(name.encode() + b"\0" + (root / name).read_bytes())
    urls = ["./"] + [f"./{name}" for name in files] + [f"./{TEXT_DIR}/languages.json"]
    head = f"const VERSION = {json.dumps(digest.hexdigest()[:16])};\nconst SHELL = {json.dumps(urls)};\n"
    return head + (root / "sw.js").read_text(encoding="utf-8")


@bp.get("")
def bare():
    """Send /app to /app/ so relative URLs resolve inside the app."""
    return redirect(PREFIX + "/", 308)


@bp.get("/")
@bp.get("/enroll")
def index():
    """The app's one page; the enrollment link carries its code in the fragment, never to us."""
    return send_from_directory(ROOT, "index.html")


@bp.get("/sw.js")
def service_worker():
    """The service worker with the shell's file list and version written in."""
    if current_app.debug:
        _service_worker.cache_clear()  # files change under a debug server
    return Response(_service_worker(), mimetype="text/javascript", headers={"Cache-Control": "no-cache"})


@bp.get(f"/{TEXT_DIR}/languages.json")
def language_list():
    """The translations on disk: a clinic adds a language by adding one file."""
    return {"languages": languages()}


@bp.get("/<path:name>")
def shell_file(name):
    """One file of the shell (404 for anything else)."""
    if not name.endswith(SHELL_SUFFIXES):
        abort(404)
    mimetype = "application/manifest+json" if name.endswith(".webmanifest") else None
    return send_from_directory(ROOT, name, mimetype=mimetype)
