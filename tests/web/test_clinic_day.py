"""A clinic day in headless Chromium, through the clinician pages' forms and the patient's API.

Each step is a helper named for what the clinician (or the phone) does, so later steps
(report notes, snapshots, compare, print) can be added to ``test_clinic_day``.
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


def log_in(page, base, email, password=PASSWORD):
    page.goto(base + "/login")
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_url(base + "/patients")


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
    """A week of diary entries with notes and bedtime doses, as the phone sends them."""
    headers = {"Authorization": f"Bearer {token}"}
    now = datetime.now(ZoneInfo(zone)).isoformat()
    for n, day in enumerate(days):
        entry = {
            "pain": 6 - n % 3,
            "sleep_hours": 7,
            "mood": 5,
            "notes": f"day {n + 1} note",
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


def open_report(page, base, patient_id):
    answer = page.goto(f"{base}/patients/{patient_id}/report")
    assert answer.status == 200
    return page


def test_clinic_day(live, page):
    base, clinic = live
    log_in(page, base, clinic["email"])
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

    post_week(base, token, week)
    open_report(page, base, patient_id)
    assert "Dana Day" in page.content()
