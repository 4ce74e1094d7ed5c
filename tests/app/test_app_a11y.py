"""Every screen of the patient app: axe finds nothing at 390 px; nothing scrolls sideways at 320 px or at
200% text size. DIARY_APP_SCREENSHOTS=DIR saves a PNG of each screen at each size to look at."""

import os

import pytest

from tests.app.conftest import SHOTS, fresh_code, new_patient, today
from tests.app.test_app_browser import SYNC_WAIT_MS, connect, expect, notes, phone, save, status
from tests.browser import axe_violations, scrolls_sideways

# Names the elements that stick out past the right edge, for the failure message.
_WIDEST = """() => [...document.querySelectorAll('main *')]
    .filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
    .slice(-3).map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right)).join(', ')"""
SCREENS = ["#/", "#/history", "#/summary", "#/weekly", "#/reminders", "#/notifications", "#/data"]
SIZES = {"390": {"width": 390, "height": 844}, "320": {"width": 320, "height": 640}}


def _shoot(page, name):
    if SHOTS:
        os.makedirs(SHOTS, exist_ok=True)
        page.screenshot(path=os.path.join(SHOTS, f"{name}.png"), full_page=True)


def _with_a_conflict_and_a_refusal(live, page, pid):
    """Leave today in conflict and yesterday refused, so those panels are checked too."""
    day = today().isoformat()
    page.context.set_offline(True)
    notes(page).fill("this phone's words")
    save(page)
    other = live["client"].post(
        "/api/v1/enroll", json={"code": fresh_code(live, pid), "device_name": "tablet"}
    )
    from datetime import UTC, datetime

    live["client"].put(
        f"/api/v1/me/entries/{day}",
        json={"pain": 5, "notes": "the tablet's words", "recorded_at": datetime.now(UTC).isoformat()},
        headers={"Authorization": f"Bearer {other.json['token']}"},
    )
    page.evaluate(
        """async () => {
            const { saveEntry } = await import('./js/outbox.js');
            const { addDays } = await import('./js/days.js');
            const { today } = await import('./js/state.js');
            await saveEntry(addDays(today(), -1), { sleep_hours: 30 });
        }"""
    )
    page.context.set_offline(False)
    expect(page.get_by_role("group", name="Changed on another device")).to_be_visible(timeout=SYNC_WAIT_MS)
    expect(status(page)).to_contain_text("2 changes need you", timeout=SYNC_WAIT_MS)


@pytest.mark.parametrize("text_size", ["100%", "200%"])
def test_every_screen_passes_axe_and_fits_a_narrow_phone(live, browser, text_size):
    base = live["base"]
    pid, code = new_patient(live)
    # 200% text: the page's root font size doubled (the app sizes everything in rem), as a phone's
    # largest text setting does. The style is added from outside, so the CSP is bypassed for this only.
    ctx = (
        phone(browser)
        if text_size == "100%"
        else browser.new_context(
            viewport=SIZES["390"], timezone_id="Europe/London", locale="en-GB", bypass_csp=True
        )
    )
    page = ctx.new_page()
    if text_size == "200%":
        page.add_init_script("""document.addEventListener('DOMContentLoaded', () => {
            const s = document.createElement('style'); s.textContent = 'html { font-size: 200% }';
            document.head.append(s); });""")
    page.goto(f"{base}/app/enroll#code={code}")
    page.get_by_label("Enrollment code").wait_for()
    problems = {}
    for size, viewport in SIZES.items():
        page.set_viewport_size(viewport)
        if scrolls_sideways(page):
            problems[f"connect@{size}"] = "scrolls sideways"
        _shoot(page, f"connect-{size}-{text_size[:-1]}")
    page.set_viewport_size(SIZES["390"])
    if text_size == "100%":
        problems["connect axe"] = axe_violations(page) or None
    connect(page, base, code)
    _with_a_conflict_and_a_refusal(live, page, pid)
    yesterday = today().fromordinal(today().toordinal() - 1).isoformat()
    for screen in [*SCREENS, f"#/day/{yesterday}"]:
        page.goto(f"{base}/app/{screen}")
        page.locator("main h2").first.wait_for()
        page.wait_for_timeout(400)  # screens that fetch (summary, reminders) finish drawing
        name = screen.strip("#/").replace("/", "-") or "today"
        for size, viewport in SIZES.items():
            page.set_viewport_size(viewport)
            if scrolls_sideways(page):
                problems[f"{name}@{size}"] = "scrolls sideways: " + page.evaluate(_WIDEST)
            _shoot(page, f"{name}-{size}-{text_size[:-1]}")
        page.set_viewport_size(SIZES["390"])
        if text_size == "100%":
            problems[f"{name} axe"] = axe_violations(page) or None
    assert {k: v for k, v in problems.items() if v} == {}
