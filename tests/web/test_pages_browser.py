"""Every clinician page in Chromium at 1366 px and 390 px: axe finds no violations, nothing scrolls sideways.

One walk covers the pages of both parts of issue 10 (the clinic tasks and the report,
snapshot, compare and audit pages) under the one site header; tests/web/test_report_visit.py
checks the report pages again with a heavy 90-day diary.

Set DIARY_SCREENSHOTS=<folder> to keep a full-page PNG of each page and width.
"""

import os
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.browser import DESKTOP, PHONE, axe_violations, chromium, scrolls_sideways, serve
from tests.conftest import PASSWORD
from tests.web.test_clinic_day import (
    add_patient,
    apply_template,
    book_appointment,
    enroll_device,
    issue_code,
    post_week,
)
from tests.web.test_report_visit import step_log_in, step_save_snapshot

ZONE = "Europe/Berlin"


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:
        yield b


@pytest.fixture
def live(app, conn, clinic):
    from tests.web.conftest import make_admin

    make_admin(conn, clinic)
    with serve(app) as base:
        yield base, clinic


def _check(page, name, width, problems):
    violations = axe_violations(page)
    if violations:
        problems.append(f"{name} at {width}px: {violations}")
    if scrolls_sideways(page):
        problems.append(f"{name} scrolls sideways at {width}px")
    folder = os.environ.get("DIARY_SCREENSHOTS")
    if folder:
        os.makedirs(folder, exist_ok=True)
        page.screenshot(path=os.path.join(folder, f"{name}-{width}.png"), full_page=True)


def _pages(page, base, clinic, tag):
    """Walk every clinician page (and each form's refusal); yield (name) with the page showing it."""
    page.goto(base + "/login")
    yield "login"
    step_log_in(page, base, clinic["email"], PASSWORD)
    pid = add_patient(page, base, "Robin Example-Longname", ZONE, "MRN-000123456")
    page.goto(base + "/patients")
    yield "patients"
    page.goto(base + "/patients/new")
    page.click("text=Add patient >> nth=-1")
    yield "patient-new-errors"
    code, _ = issue_code(page, base, pid)
    yield "enrollment-code"
    token = enroll_device(base, code)
    page.goto(f"{base}/patients/{pid}/enrollment-sheet")
    yield "enrollment-sheet"
    today = datetime.now(ZoneInfo(ZONE)).date()
    apply_template(page, base, pid, "ldn-slow", today - timedelta(days=3))
    yield "regimen"
    page.fill("input[name='steps-1-dose_mg']", "abc")
    page.get_by_role("button", name="Save regimen").click()
    yield "regimen-errors"
    book_appointment(
        page, base, pid, datetime.combine(today + timedelta(days=7), datetime.min.time()), "visit"
    )
    page.goto(f"{base}/patients/{pid}")
    yield "patient-home"
    page.fill("#starts_at", "")
    page.get_by_role("button", name="Book appointment").click()
    yield "patient-home-errors"
    post_week(base, token, [today - timedelta(days=n) for n in range(3, 0, -1)], ZONE)
    page.goto(f"{base}/patients/{pid}/report")
    yield "report"
    page.goto(f"{base}/patients/{pid}/report?from=2026-02-30&to=2026-01-01")
    yield "report-invalid-period"
    page.goto(f"{base}/patients/{pid}/report")
    step_save_snapshot(page)
    yield "snapshot"
    page.click("text=Compare with today")
    yield "compare"
    page.goto(f"{base}/patients/{pid}/snapshots")
    yield "snapshots"
    page.goto(f"{base}/patients/{pid}/audit")
    yield "audit"
    page.goto(base + "/account/password")
    yield "account-password"
    page.get_by_role("button", name="Change password").click()
    yield "account-password-errors"
    page.goto(base + "/clinic/clinicians")
    page.fill("#email", f"new.clinician.{tag}@clinic.example")
    page.fill("#name", "Dr New")
    page.get_by_role("button", name="Add clinician").click()
    yield "clinicians"
    link = page.locator("#password-link").inner_text().strip()
    page.goto(link)
    yield "set-password"


def test_every_clinic_page_passes_axe_and_never_scrolls_sideways(live, browser):
    base, clinic = live
    problems = []
    seen = []
    for viewport in (DESKTOP, PHONE):
        context = browser.new_context(viewport=viewport)
        page = context.new_page()
        for name in _pages(page, base, clinic, viewport["width"]):
            seen.append(name)
            _check(page, name, viewport["width"], problems)
        context.close()
    assert len(seen) == 2 * 19
    assert problems == []


def test_enrollment_sheet_prints_on_one_page_without_the_site_header(live, browser):
    import re

    base, clinic = live
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    step_log_in(page, base, clinic["email"], PASSWORD)
    pid = add_patient(page, base, "Printed Patient", ZONE, "MRN-1")
    page.goto(f"{base}/patients/{pid}/enrollment-sheet")
    assert page.locator("#enrollment-qr svg").count() == 1
    for paper in ("A4", "Letter"):
        pdf = page.pdf(format=paper)
        assert len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", pdf)) == 1, paper
    page.emulate_media(media="print")
    assert not page.locator("header.site").is_visible()
    assert page.locator("#enrollment-code").is_visible()
    context.close()
