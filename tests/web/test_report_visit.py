"""A clinic visit in headless Chromium: the report with its notes, a snapshot, the compare page, the printout.

The ``step_*`` functions are the visit's steps, written to be reused by the
clinic-day end-to-end test: each takes a Playwright page (and what it needs)
and asserts what a clinician would see. The diary is set up through the API.
DIARY_REPORT_SCREENSHOTS=DIR saves the report at 1366 and 390 px and the PDFs.
"""

import io
import os
import random
import re
import uuid
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import requests

from tests.browser import DESKTOP, PHONE, axe_violations, chromium, scrolls_sideways, serve

pypdf = pytest.importorskip("pypdf")

SHOTS = os.environ.get("DIARY_REPORT_SCREENSHOTS")
ZONE = "America/New_York"
PAPERS = ("A4", "Letter")
# The printable width of A4 between the stylesheet's 9 mm side margins, in CSS px.
A4_PRINT_WIDTH = round((210 - 18) / 25.4 * 96)
PX_PER_PT = 96 / 72


# -- data through the API ------------------------------------------------------------------------


def api_login(base, email, password):
    """Return bearer headers of a clinician logged in through the API."""
    r = requests.post(f"{base}/api/v1/auth/login", json={"email": email, "password": password}, timeout=10)
    assert r.status_code == 200, r.text
    return {"Authorization": "Bearer " + r.json()["token"]}


def add_heavy_patient(base, headers, name="Robin Heavy", external_ref="MRN-4471", days=90, seed=3):
    """Create a patient, enroll a phone, set a titration and post a full ``days``-day diary through the API.

    Every day has every measure, a long note, side effects (an ``other`` one with
    its note) and a dose, so the printout is as full as a 90-day report gets.
    Returns {id, name, external_ref, notes: {date: note}, other_notes: {date: note},
    header: [words the report's header shows]}.
    """
    rng = random.Random(seed)
    r = requests.post(
        f"{base}/api/v1/patients",
        json={"display_name": name, "timezone": ZONE, "external_ref": external_ref},
        headers=headers,
        timeout=10,
    )
    assert r.status_code == 201, r.text
    patient = r.json()
    today = datetime.now(ZoneInfo(ZONE)).date()
    first_step = today - timedelta(days=days - 15)
    steps = [
        {"start_date": (first_step + timedelta(days=14 * k)).isoformat(), "dose_mg": mg}
        for k, mg in enumerate((0.5, 1, 1.5, 2, 3, 4.5))
    ]
    r = requests.put(
        f"{base}/api/v1/patients/{patient['id']}/regimen",
        json={
            "medication": "naltrexone",
            "dose_time": "21:30",
            "steps": steps,
            "other_medications": ["tramadol 50 mg as needed", "amitriptyline 10 mg"],
        },
        headers=headers,
        timeout=10,
    )
    assert r.status_code == 200, r.text
    r = requests.post(
        f"{base}/api/v1/enroll", json={"code": patient["enrollment_code"], "device_name": "phone"}, timeout=10
    )
    assert r.status_code == 201, r.text
    phone = {"Authorization": "Bearer " + r.json()["token"]}
    zone = ZoneInfo(ZONE)
    entries, doses, notes, other_notes = [], [], {}, {}
    for n in range(days):
        day = today - timedelta(days=days - 1 - n)
        at = datetime.combine(day, time(21, 30), tzinfo=zone)
        note = f"Day {n}: " + "slept badly, walked the dog, pain in the lower back after work. " * 3
        effects = [
            {"name": effect, "severity": rng.choice(["mild", "moderate", "severe"])}
            for effect in ("nausea", "headache", "vivid_dreams", "insomnia")
            if rng.random() < 0.25
        ]
        if n % 9 == 4:
            other_notes[day.isoformat()] = "tingling hands" if n % 2 else "Tingling hands"
            effects.append({"name": "other", "severity": "mild", "note": other_notes[day.isoformat()]})
        notes[day.isoformat()] = note.strip()
        entries.append(
            {
                "date": day.isoformat(),
                "pain": max(0, min(10, 7 - n // 20 + rng.randint(-1, 1))),
                "pain_worst": max(0, min(10, 9 - n // 25 + rng.randint(-1, 1))),
                "fatigue": rng.randint(2, 8),
                "mood": rng.randint(2, 8),
                "sleep_quality": rng.randint(2, 8),
                "function": rng.randint(2, 8),
                "sleep_hours": rng.choice([5.5, 6.0, 7.25, 8.0]),
                "side_effects": effects,
                "notes": note,
                "recorded_at": at.isoformat(),
            }
        )
        step = max(
            (s for s in steps if s["start_date"] <= day.isoformat()),
            default=None,
            key=lambda s: s["start_date"],
        )
        if step is not None and rng.random() < 0.9:
            doses.append(
                {
                    "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                    "medication": "naltrexone",
                    "amount_mg": step["dose_mg"],
                    "taken_at": at.isoformat(),
                    "status": "taken",
                    "recorded_at": at.isoformat(),
                }
            )
    # A weekly PEG from the first week and a PGIC once treatment has started, so the printout
    # carries issue 12's questionnaires section too.
    weekly = []
    for n in range(6, days, 7):
        day = today - timedelta(days=days - 1 - n)
        at = datetime.combine(day, time(21, 40), tzinfo=zone).isoformat()
        pain = entries[n]["pain"]
        peg = {"peg_pain": pain, "peg_enjoyment": pain, "peg_activity": min(10, pain + 1)}
        weekly.append({"instrument": "peg", "date": day.isoformat(), "answers": peg, "recorded_at": at})
        if day >= first_step:
            pgic = {"pgic": max(2, 5 - n // 30)}
            weekly.append({"instrument": "pgic", "date": day.isoformat(), "answers": pgic, "recorded_at": at})
    r = requests.post(
        f"{base}/api/v1/me/sync",
        json={"entries": entries, "doses": doses, "questionnaires": weekly},
        headers=phone,
        timeout=30,
    )
    assert r.status_code == 200, r.text
    assert all(item.get("status") != "rejected" for item in r.json().get("entries", [])), r.text[:500]
    return {
        "id": patient["id"],
        "name": name,
        "external_ref": external_ref,
        "notes": notes,
        "other_notes": other_notes,
        "header": ["tramadol 50 mg as needed", "21:30"],
    }


# -- the visit's steps ---------------------------------------------------------------------------


def step_log_in(page, base, email, password):
    """Log in through the form."""
    page.goto(base + "/login")
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/patients.*"))


def step_open_report_and_find_notes(page, base, patient):
    """Open the report (default period) and find the notes, newest first, each with its date."""
    page.goto(f"{base}/patients/{patient['id']}/report")
    assert page.locator("h1").inner_text().startswith(patient["name"])
    notes = page.locator("#notes-h + * .note, section.notes li.note")
    dates = [d for d in page.locator("section.notes .note-date").all_inner_texts()]
    assert dates, "no notes on the report"
    assert dates == sorted(dates, reverse=True), "notes are not newest first"
    texts = notes.all_inner_texts()
    newest = max(patient["notes"])
    assert any(t.startswith(newest) and patient["notes"][newest][:40] in t for t in texts), texts[:2]
    for day, words in patient.get("other_notes", {}).items():
        if day >= dates[-1]:
            assert any(t.startswith(day) and words in t for t in texts), (day, words)
    header = page.locator(".report-head").inner_text()
    for words in patient.get("header", ()):
        assert words in header, (words, header)


def step_save_snapshot(page):
    """Save a snapshot of the shown report; return its URL (the snapshot page opens)."""
    page.click("text=Save snapshot")
    page.wait_for_url(re.compile(r".*/patients/[^/]+/snapshots/[^/]+$"))
    assert "Snapshot stored" in page.locator(".snapshot-note").inner_text()
    return page.url


def step_open_compare(page, snapshot_url):
    """From the snapshot, open the compare page: the visit's baseline table beside today's."""
    page.goto(snapshot_url)
    page.click("text=Compare with today")
    page.wait_for_url(re.compile(r".*/snapshots/[^/]+/compare$"))
    assert page.locator("table.baseline-table").count() == 2
    assert page.locator("#compare-then-h").is_visible() and page.locator("#compare-today-h").is_visible()


def step_print_report(page, base, patient, paper):
    """Print the report to PDF on ``paper``; return the PDF bytes."""
    if f"/patients/{patient['id']}/report" not in page.url:
        page.goto(f"{base}/patients/{patient['id']}/report")
    page.emulate_media(media="print")
    try:
        # prefer_css_page_size: the page's own @page rules, as the browser's print dialog uses.
        return page.pdf(format=paper, print_background=True, prefer_css_page_size=False)
    finally:
        page.emulate_media(media="screen")


def _page_text_lines(pdf_page):
    """Return [(y, text)] of a PDF page's text runs, y up from the bottom in pt."""
    runs = []

    def visit(text, cm, tm, font, size):
        if text.strip():
            runs.append((tm[4] * cm[1] + tm[5] * cm[3] + cm[5], text.strip()))

    pdf_page.extract_text(visitor_text=visit)
    return runs


def check_printed_pages(pdf, patient, max_pages=2):
    """Check a printed report: at most ``max_pages`` pages, each naming the patient, reference and
    'page N of M', every page but the last at least half full. Returns (pages, fill of each page)."""
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    pages = len(reader.pages)
    assert 1 <= pages <= max_pages, pages
    fills = []
    for n, pdf_page in enumerate(reader.pages, start=1):
        text = " ".join(pdf_page.extract_text().split())
        assert patient["name"] in text, (n, text[:200])
        assert patient["external_ref"] in text, (n, text[:200])
        assert f"page {n} of {pages}" in text, (n, text[-200:])
        assert "printed" in text, n
        height = float(pdf_page.mediabox.height)
        # The body's lowest line (the bottom margin box with the page number left out).
        body = [y for y, t in _page_text_lines(pdf_page) if 40 < y < height - 40]
        fills.append((height - min(body)) / height if body else 0)
    for n, fill in enumerate(fills[:-1], start=1):
        assert fill >= 0.5, f"page {n} is {fill:.0%} full"
    return pages, fills


# -- fixtures ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def visit(tmp_path_factory):
    """A live server on a demo database with a heavy 90-day patient added through the API."""
    from diary import create_app, demo
    from diary import db as dbmod
    from diary.clock import utcnow

    path = str(tmp_path_factory.mktemp("visit") / "visit.sqlite3")
    dbmod.migrate(path)
    conn = dbmod.connect(path)
    creds, _ = demo.load_demo(conn, utcnow())
    conn.close()
    app = create_app({"DATABASE": path})
    with serve(app) as base, chromium() as browser:
        headers = api_login(base, creds["email"], creds["password"])
        patient = add_heavy_patient(base, headers)
        yield {"base": base, "creds": creds, "patient": patient, "browser": browser, "headers": headers}
    dbmod.close_thread_connections()


def _page(visit, viewport=DESKTOP):
    page = visit["browser"].new_page(viewport=viewport)
    step_log_in(page, visit["base"], visit["creds"]["email"], visit["creds"]["password"])
    return page


def _shoot(page, name):
    if SHOTS:
        os.makedirs(SHOTS, exist_ok=True)
        page.screenshot(path=os.path.join(SHOTS, f"{name}.png"), full_page=True)


# -- tests ---------------------------------------------------------------------------------------


def test_a_visit_reads_notes_saves_a_snapshot_compares_and_prints(visit):
    page = _page(visit)
    base, patient = visit["base"], visit["patient"]
    problems = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type in ("error", "warning") else None)
    step_open_report_and_find_notes(page, base, patient)
    period = page.locator(".report-head .meta strong").all_inner_texts()
    assert (date.fromisoformat(period[1]) - date.fromisoformat(period[0])).days + 1 == 90
    _shoot(page, "report-1366")
    snapshot_url = step_save_snapshot(page)
    step_open_compare(page, snapshot_url)
    for paper in PAPERS:
        pdf = step_print_report(page, base, patient, paper)
        if SHOTS:
            with open(os.path.join(SHOTS, f"report-{paper}.pdf"), "wb") as f:
                f.write(pdf)
        pages, fills = check_printed_pages(pdf, patient)
        print(paper, pages, [f"{f:.0%}" for f in fills])
        # Issue 12's effect words and weekly questionnaires print within those pages.
        printed = " ".join(" ".join(p.extract_text().split()) for p in pypdf.PdfReader(io.BytesIO(pdf)).pages)
        for words in ("Estimated change, baseline to current", "Weekly questionnaires", "PEG", "PGIC"):
            assert words in printed, (paper, words)
    assert problems == []


def _rendered_text_sizes(page):
    """[(text, rendered px)] of every chart's SVG text."""
    return page.evaluate(
        """() => [...document.querySelectorAll('svg.chart-svg text')].map(t => {
            const m = t.getScreenCTM();
            return [t.textContent, parseFloat(getComputedStyle(t).fontSize) * Math.hypot(m.a, m.b)];
        })"""
    )


def test_chart_text_is_at_least_12_px_on_screen_and_8_pt_in_print(visit):
    page = _page(visit)
    page.goto(f"{visit['base']}/patients/{visit['patient']['id']}/report")
    sizes = _rendered_text_sizes(page)
    assert len(sizes) > 50
    small = [(t, round(px, 1)) for t, px in sizes if px < 12]
    assert not small, small[:5]
    # Print: the page laid out at A4's printable width, with the print stylesheet.
    page.set_viewport_size({"width": A4_PRINT_WIDTH, "height": 1000})
    page.emulate_media(media="print")
    sizes = _rendered_text_sizes(page)
    small = [(t, round(px / PX_PER_PT, 1)) for t, px in sizes if px < 8 * PX_PER_PT]
    assert not small, small[:5]


def test_dose_step_labels_never_overlap(visit):
    page = _page(visit)
    page.goto(f"{visit['base']}/patients/{visit['patient']['id']}/report")
    boxes = page.evaluate(
        "() => [...document.querySelectorAll('#chart-timeline .step-label')]"
        ".map(t => { const b = t.getBoundingClientRect(); return [b.left, b.top, b.right, b.bottom]; })"
    )
    assert len(boxes) == 6
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            apart = a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1]
            assert apart, (a, b)


def _snapshot_id(visit):
    r = requests.post(
        f"{visit['base']}/api/v1/patients/{visit['patient']['id']}/reports",
        json={},
        headers=visit["headers"],
        timeout=10,
    )
    assert r.status_code == 201, r.text
    return r.json()["id"]


@pytest.mark.parametrize("size", ["1366", "390"])
def test_report_pages_pass_axe_and_never_scroll_sideways(visit, size):
    viewport = DESKTOP if size == "1366" else PHONE
    page = _page(visit, viewport)
    base, pid = visit["base"], visit["patient"]["id"]
    sid = _snapshot_id(visit)
    for name, path in (
        ("report", f"/patients/{pid}/report"),
        ("report-invalid-period", f"/patients/{pid}/report?from=2026-02-30&to=2026-01-01"),
        ("snapshots", f"/patients/{pid}/snapshots"),
        ("snapshot", f"/patients/{pid}/snapshots/{sid}"),
        ("compare", f"/patients/{pid}/snapshots/{sid}/compare"),
        ("audit", f"/patients/{pid}/audit"),
    ):
        page.goto(base + path)
        _shoot(page, f"{name}-{size}")
        assert axe_violations(page) == [], (name, size)
        assert not scrolls_sideways(page), (name, size)
