"""A clinic day in headless Chromium, through the clinician pages' forms and the patient's API.

Each step is a helper named for what the clinician (or the phone) does; the visit's steps
(report notes, snapshot, compare, print) are those of ``tests/web/test_report_visit.py``, so
one test walks issue 10's whole clinic day, from logging in to the printed report.
"""

import io
import re
import uuid
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import requests

from tests.browser import DESKTOP, chromium, serve
from tests.conftest import PASSWORD
from tests.web.test_report_visit import (
    check_printed_pages,
    step_log_in,
    step_open_compare,
    step_open_report_and_find_notes,
    step_print_report,
    step_save_snapshot,
)

zxingcpp = pytest.importorskip("zxingcpp", reason="zxing-cpp (pip, test extra) decodes the QR code")
Image = pytest.importorskip("PIL.Image", reason="pillow (pip, test extra) reads the screenshot")

ZONE = "America/New_York"


@pytest.fixture
def live(app, clinic):
    with serve(app) as base:
        yield base, clinic


@pytest.fixture
def page():
    with chromium() as browser:
        context = browser.new_context(viewport=DESKTOP)
        yield context.new_page()
        context.close()


def add_patient(page, base, name, zone, external_ref):
    """Fill /patients/new; return the new patient's id from the page it lands on."""
    page.goto(base + "/patients/new")
    page.fill("#display_name", name)
    page.select_option("#timezone", zone)
    page.fill("#external_ref", external_ref)
    page.click("text=Add patient >> nth=-1")
    page.wait_for_url(re.compile(r".*/patients/[0-9a-f-]{36}$"))
    assert page.locator("h1").inner_text().startswith(name)
    return page.url.rsplit("/", 1)[1]


def issue_code(page, base, patient_id):
    """Issue an enrollment code from the patient's home; return (code shown, text the QR code holds)."""
    page.goto(f"{base}/patients/{patient_id}")
    page.get_by_role("button", name="Issue an enrollment code").click()
    code = page.locator("#enrollment-code").inner_text().strip()
    png = page.locator("#enrollment-qr svg").screenshot()
    found = zxingcpp.read_barcode(Image.open(io.BytesIO(png)).convert("L"))
    assert found is not None, "no QR code found in the screenshot"
    return code, found.text


def enroll_device(base, code):
    """What the patient app does with the code: POST /enroll; return the device token."""
    r = requests.post(
        f"{base}/api/v1/enroll", json={"code": code, "device_name": "clinic-day phone"}, timeout=10
    )
    assert r.status_code == 201, r.text
    return r.json()["token"]


def apply_template(page, base, patient_id, template, start, medication="naltrexone", dose_time="22:00"):
    """Fill the steps from a template, then save the regimen."""
    page.goto(f"{base}/patients/{patient_id}/regimen")
    page.select_option("#template", template)
    page.fill("#start_date", start.isoformat())
    page.get_by_role("button", name="Fill the steps").click()
    page.fill("#medication", medication)
    page.fill("#dose_time", dose_time)
    page.get_by_role("button", name="Save regimen").click()
    page.wait_for_url(f"{base}/patients/{patient_id}/regimen")


def book_appointment(page, base, patient_id, local_start, note):
    page.goto(f"{base}/patients/{patient_id}")
    page.fill("#starts_at", local_start.strftime("%Y-%m-%dT%H:%M"))
    page.fill("#note", note)
    page.get_by_role("button", name="Book appointment").click()
    page.wait_for_url(f"{base}/patients/{patient_id}#appointments")


def post_week(base, token, days, zone=ZONE):
    """A week of diary entries with notes and bedtime doses, as the phone sends them; return {date: note}."""
    headers = {"Authorization": f"Bearer {token}"}
    now = datetime.now(ZoneInfo(zone)).isoformat()
    notes = {}
    for n, day in enumerate(days):
        notes[day.isoformat()] = f"day {n + 1}: walked to the shop, back pain eased by the evening"
        entry = {
            "pain": 6 - n % 3,
            "sleep_hours": 7,
            "mood": 5,
            "notes": notes[day.isoformat()],
            "recorded_at": now,
        }
        r = requests.put(
            f"{base}/api/v1/me/entries/{day.isoformat()}", json=entry, headers=headers, timeout=10
        )
        assert r.status_code == 201, r.text
        taken = datetime.combine(day, time(22, 0), tzinfo=ZoneInfo(zone)).isoformat()
        dose = {
            "medication": "naltrexone",
            "amount_mg": 1.5,
            "taken_at": taken,
            "status": "taken",
            "recorded_at": now,
        }
        r = requests.put(f"{base}/api/v1/me/doses/{uuid.uuid4()}", json=dose, headers=headers, timeout=10)
        assert r.status_code == 201, r.text
    return notes


def test_clinic_day(live, page):
    base, clinic = live
    step_log_in(page, base, clinic["email"], PASSWORD)
    patient_id = add_patient(page, base, "Dana Day", ZONE, "MRN-4242")

    code, qr_text = issue_code(page, base, patient_id)
    assert re.fullmatch(r"[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}", code)
    assert qr_text == f"{base}/app/enroll#code={code}"
    # The patient app reads the code from the link's fragment.
    phone = page.context.new_page()
    phone.goto(qr_text)
    phone.wait_for_selector("#code")
    assert phone.input_value("#code") == code
    phone.close()
    token = enroll_device(base, code)

    today = datetime.now(ZoneInfo(ZONE)).date()
    week = [today - timedelta(days=n) for n in range(7, 0, -1)]
    apply_template(page, base, patient_id, "ldn-standard", week[0])
    steps = page.locator("input[name$='-start_date']")
    assert [steps.nth(i).input_value() for i in range(3)] == [
        week[0].isoformat(),
        (week[0] + timedelta(days=14)).isoformat(),
        (week[0] + timedelta(days=28)).isoformat(),
    ]

    visit = datetime.combine(today + timedelta(days=14), time(9, 30))
    book_appointment(page, base, patient_id, visit, "titration check")
    assert "titration check" in page.locator("#upcoming-appointments").inner_text()

    notes = post_week(base, token, week)
    patient = {"id": patient_id, "name": "Dana Day", "external_ref": "MRN-4242", "notes": notes}
    patient["header"] = ["naltrexone", "22:00"]
    step_open_report_and_find_notes(page, base, patient)
    snapshot_url = step_save_snapshot(page)
    step_open_compare(page, snapshot_url)
    for paper in ("A4", "Letter"):
        # At most two pages, each naming the patient and "page N of M".
        check_printed_pages(step_print_report(page, base, patient, paper), patient)
