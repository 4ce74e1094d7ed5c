"""End to end in headless Chromium: log in, open the demo report, print it to PDF.

Needs Debian's ``chromium`` (apt-get install -y chromium) and the ``playwright``
Python package; Playwright's own browser download is never used.
"""

import re

import pytest

from tests.browser import DESKTOP, PHONE, chromium, scrolls_sideways, serve

CHART_IDS = [
    "chart-timeline",
    "chart-pain_worst",
    "chart-fatigue",
    "chart-mood",
    "chart-sleep_quality",
    "chart-function",
    "chart-sleep_hours",
]


class LiveServer(tuple):
    """(base URL, demo credentials) with the app's database path."""

    app_database = None


@pytest.fixture
def live_server(demo_app):
    app, creds = demo_app
    with serve(app) as base:
        live = LiveServer((base, creds))
        live.app_database = app.config["DATABASE"]
        yield live


@pytest.fixture
def browser():
    with chromium() as b:
        yield b


def pdf_pages(data):
    """Count the pages of a PDF (page objects, not the /Pages tree node)."""
    return len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", data))


def test_clinician_reads_demo_report_and_prints_two_pages(live_server, browser, tmp_path):
    base, creds = live_server
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    problems = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type in ("error", "warning") else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))

    page.goto(base + "/login")
    page.fill("#email", creds["email"])
    page.fill("#password", creds["password"])
    page.click("button[type=submit]")
    page.wait_for_url(base + "/patients")
    page.click("a[aria-label='Report of Alex Demo']")  # the name opens the home page; "report" the report
    page.wait_for_url(re.compile(r".*/patients/.*/report$"))

    assert page.locator("#flags-h").is_visible()
    assert page.locator("#baseline-h").is_visible()
    for chart_id in CHART_IDS:
        svg = page.locator(f"svg#{chart_id}")
        assert svg.count() == 1, chart_id
        assert svg.bounding_box()["height"] > 20, chart_id
        assert page.locator(f"#{chart_id}-figure table").count() >= 1, chart_id
    # The baseline table comes before the charts in the document.
    order = page.evaluate(
        "() => [document.querySelector('#baseline-h'), document.querySelector('#chart-timeline')]"
        ".map(e => e.getBoundingClientRect().top)"
    )
    assert order[0] < order[1]
    assert page.evaluate("() => document.scripts.length") == 0

    page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
    assert (tmp_path / "report.png").stat().st_size > 10_000
    for paper in ("A4", "Letter"):
        pdf = page.pdf(format=paper, print_background=True)
        (tmp_path / f"report-{paper}.pdf").write_bytes(pdf)
        assert 1 <= pdf_pages(pdf) <= 2, (paper, pdf_pages(pdf))
    assert problems == []


def add_troubled_patient(path, clinic_id):
    """A patient whose 90-day report raises every flag and reports every side effect."""
    import random
    from datetime import datetime, time, timedelta
    from zoneinfo import ZoneInfo

    from diary import db as dbmod
    from diary import people, records
    from diary.clock import utcnow
    from diary.schemas.diary import SIDE_EFFECT_NAMES

    rng = random.Random(4)
    now = utcnow()
    zone = ZoneInfo("America/New_York")
    today = now.astimezone(zone).date()
    conn = dbmod.connect(path)
    try:
        with dbmod.write(conn):
            patient = people.create_patient(
                conn, clinic_id, {"display_name": "Sam Troubled", "timezone": "America/New_York"}, now, 7
            )
            people.put_regimen(
                conn,
                patient["id"],
                {
                    "medication": "naltrexone",
                    "dose_time": "21:00",
                    "other_medications": ["tramadol 50 mg as needed", "OxyContin"],
                    "steps": [
                        {"start_date": today - timedelta(days=80 - 10 * k), "dose_mg": ug}
                        for k, ug in enumerate((500, 1000, 1500, 2000, 3000, 4500))
                    ],
                },
                now,
            )
            seq = dbmod.next_seq(conn)
            for n in range(100):
                day = today - timedelta(days=99 - n)
                if rng.random() < 0.55:
                    continue
                effects = [
                    {
                        "name": name,
                        "severity": rng.choice(["mild", "moderate", "severe"]),
                        "note": "see notes" if name == "other" else None,
                    }
                    for name in SIDE_EFFECT_NAMES
                    if rng.random() < 0.3
                ]
                at = datetime.combine(day, time(21), tzinfo=zone)
                records.upsert_entry(
                    conn,
                    patient["id"],
                    day.isoformat(),
                    {
                        "pain": min(10, 3 + n // 15),
                        "pain_worst": 10,
                        "fatigue": rng.randint(0, 10),
                        "mood": rng.randint(0, 10),
                        "sleep_quality": rng.randint(0, 10),
                        "function": rng.randint(0, 10),
                        "sleep_hours": rng.choice([4.5, 6.0, 7.25]),
                        "side_effects": effects,
                        "notes": "A long note. " * 20,
                        "recorded_at": at,
                    },
                    now,
                    seq,
                )
                if rng.random() < 0.5:
                    records.upsert_dose(
                        conn,
                        patient["id"],
                        f"00000000-0000-4000-8000-{n:012d}",
                        {
                            "medication": "naltrexone",
                            "amount_mg": 1500,
                            "taken_at": at,
                            "status": "taken",
                            "note": None,
                            "recorded_at": at,
                        },
                        now,
                        seq,
                    )
        return patient["id"]
    finally:
        conn.close()


def test_worst_case_report_still_prints_on_two_pages(live_server, browser, tmp_path):
    base, creds = live_server
    from diary import db as dbmod

    path = live_server.app_database
    conn = dbmod.connect(path)
    clinic_id = conn.execute(
        "SELECT clinic_id FROM patients WHERE id = ?", (creds["patient_id"],)
    ).fetchone()[0]
    conn.close()
    patient_id = add_troubled_patient(path, clinic_id)
    page = browser.new_page()
    page.goto(base + "/login")
    page.fill("#email", creds["email"])
    page.fill("#password", creds["password"])
    page.click("button[type=submit]")
    page.wait_for_url(base + "/patients")
    page.goto(base + f"/patients/{patient_id}/report")
    flags = page.locator(".flag-item").all_inner_texts()
    assert len(flags) >= 4, flags
    for paper in ("A4", "Letter"):
        pdf = page.pdf(format=paper)
        (tmp_path / f"troubled-{paper}.pdf").write_bytes(pdf)
        assert pdf_pages(pdf) <= 2, (paper, pdf_pages(pdf))


def test_the_effect_estimates_and_weekly_questionnaires_are_on_the_page(live_server, browser, tmp_path):
    base, creds = live_server
    for name, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        page = browser.new_page(viewport=viewport)
        page.goto(base + "/login")
        page.fill("#email", creds["email"])
        page.fill("#password", creds["password"])
        page.click("button[type=submit]")
        page.wait_for_url(base + "/patients")
        page.click("a[aria-label='Report of Alex Demo']")
        page.wait_for_url(re.compile(r".*/patients/.*/report$"))
        words = page.locator(".effect-words .effect-pain")
        assert words.is_visible()
        # "Pain fell by 2.1 points, 95% interval 1.4 to 2.8." or one of the other wordings.
        assert re.match(
            r"Pain (fell|rose) by \d+\.\d points?, 95% interval \d+\.\d to \d+\.\d|Pain changed by [+-]\d+\.\d "
            r"points, 95% interval [+-]\d+\.\d to [+-]\d+\.\d: the interval includes no change|Pain: too few days",
            words.inner_text(),
        ), words.inner_text()
        # The words come right after the baseline table, before the dose levels.
        tops = page.evaluate(
            "() => ['#baseline-h', '#effect-h', '#levels-h']"
            ".map(s => document.querySelector(s).getBoundingClientRect().top)"
        )
        assert tops == sorted(tops)
        assert not scrolls_sideways(page), name
        page.locator("section.baseline").screenshot(path=str(tmp_path / f"effect-{name}.png"))
        # The demo's weekly PEG and PGIC, in words.
        weekly = page.locator("section.questionnaires")
        assert re.search(r"PEG .* to [\d.]+ on \d{4}-\d\d-\d\d", weekly.inner_text()), weekly.inner_text()
        assert "PGIC" in weekly.inner_text() and "latest" in weekly.inner_text()
        weekly.screenshot(path=str(tmp_path / f"weekly-{name}.png"))
        page.close()
