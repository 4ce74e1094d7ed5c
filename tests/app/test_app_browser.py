"""The patient app end to end in headless Chromium on a phone viewport: enroll, check in, go offline,
sync, a second phone, a conflict; the shell offline after one visit; a tab killed mid-sync."""

import json
import re

import pytest

from tests.app.conftest import ZONE, clinician_get, fresh_code, new_patient, today
from tests.browser import PHONE, sync_api

expect = sync_api.expect
SYNC_WAIT_MS = 20_000


def phone(browser):
    """A browser context like the patient's phone: 390 px wide, in the patient's zone."""
    return browser.new_context(viewport=PHONE, timezone_id=ZONE, locale="en-GB", service_workers="allow")


def watch(page):
    """Collect script errors; the app must not throw (the browser's own log of a failed request offline aside)."""
    problems = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.on(
        "console",
        lambda msg: (
            problems.append(msg.text)
            if msg.type == "error" and not msg.text.startswith("Failed to load resource")
            else None
        ),
    )
    return problems


def status(page):
    return page.locator("#sync-status")


def connect(page, base, code):
    page.goto(f"{base}/app/enroll#code={code}")
    expect(page.get_by_label("Enrollment code")).to_have_value(code)
    page.get_by_role("button", name="Connect").click()
    expect(page.get_by_role("heading", name="Today", exact=True)).to_be_visible()
    wait_synced(page)
    # The service worker controls the page from now on (clients.claim): the shell is cached.
    page.evaluate("() => navigator.serviceWorker.ready")
    expect(page.locator("html")).to_have_attribute("lang", "en")


def wait_synced(page, timeout_ms=SYNC_WAIT_MS):
    """Wait until the phone's outbox is empty and the status line says so (not a stale "All synced")."""
    for _ in range(timeout_ms // 100):
        left = page.evaluate("async () => (await import('./js/db.js')).count('outbox')")
        if left == 0 and status(page).text_content() == "All synced":
            return
        page.wait_for_timeout(100)
    raise AssertionError(f"not synced: {left} in the outbox, status {status(page).text_content()!r}")


def enrolled_phone(live, browser):
    """A new patient and a phone connected to them: (patient id, context, page)."""
    pid, code = new_patient(live)
    ctx = phone(browser)
    page = ctx.new_page()
    connect(page, live["base"], code)
    return pid, ctx, page


def score(page, name, value):
    """Choose `value` on the scale `name` (0 and 10 carry the scale's words in their names)."""
    choice(page, name, value).check()


def choice(page, name, value):
    return page.get_by_role("group", name=name, exact=True).get_by_role(
        "radio", name=re.compile(rf"^{value}( |$)")
    )


def notes(page):
    return page.get_by_label("Notes", exact=True)


def save(page):
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_text("Saved on this phone.")).to_be_visible()


def test_enroll_check_in_offline_sync_second_phone_and_conflict(live, browser):
    base = live["base"]
    pid, code = new_patient(live)
    day = today().isoformat()

    one = phone(browser)
    page = one.new_page()
    problems = watch(page)
    connect(page, base, code)
    # The scales: radio groups named for the measure, with the scale's words at both ends.
    pain = page.get_by_role("group", name="Pain", exact=True)
    expect(pain.get_by_role("radio")).to_have_count(11)
    expect(pain.get_by_label("0 no pain")).to_be_visible()
    expect(pain.get_by_label("10 worst pain imaginable")).to_be_visible()
    expect(page.get_by_role("group", name="Mood", exact=True).get_by_label("10 very good")).to_be_visible()
    score(page, "Pain", 4)
    score(page, "Sleep quality", 7)
    page.get_by_label("Sleep hours").fill("7.25")
    page.get_by_label("Headache").check()
    page.get_by_role("group", name="How bad was it: Headache").get_by_label("Moderate").check()
    notes(page).fill("first notes")
    save(page)
    wait_synced(page)

    # Offline: the reload comes from the service worker; changes queue on the phone.
    one.set_offline(True)
    page.reload()
    expect(page.get_by_role("heading", name="Today", exact=True)).to_be_visible()
    expect(notes(page)).to_have_value("first notes")
    expect(status(page)).to_contain_text("Offline")
    notes(page).fill("offline notes")
    save(page)
    page.get_by_role("button", name="Took 4.5 mg").click()
    expect(page.locator(".logged strong", has_text=re.compile(r"Took 4\.5 mg at \d\d:\d\d"))).to_be_visible()
    expect(status(page)).to_contain_text("2 changes waiting to sync")
    assert clinician_get(live, f"/patients/{pid}/entries?from={day}&to={day}")["entries"][0]["notes"] == (
        "first notes"
    )

    one.set_offline(False)
    wait_synced(page)
    [entry] = clinician_get(live, f"/patients/{pid}/entries?from={day}&to={day}")["entries"]
    assert entry["notes"] == "offline notes" and entry["pain"] == 4 and entry["sleep_quality"] == 7
    assert entry["sleep_hours"] == 7.25
    assert entry["side_effects"] == [{"name": "headache", "severity": "moderate", "note": None}]
    [dose] = clinician_get(live, f"/patients/{pid}/doses?from={day}&to={day}")["doses"]
    assert (dose["local_date"], dose["amount_mg"], dose["status"], dose["medication"]) == (
        day,
        4.5,
        "taken",
        "naltrexone",
    )
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:00(\.000)?[+-]\d\d:\d\d", dose["taken_at"]) or dose[
        "taken_at"
    ].startswith(day)

    # A second phone enrolled to the same patient receives all of it.
    two = phone(browser)
    page2 = two.new_page()
    problems += watch(page2)
    connect(page2, base, fresh_code(live, pid))
    expect(notes(page2)).to_have_value("offline notes")
    expect(page2.locator(".logged strong", has_text=re.compile(r"Took 4\.5 mg at \d\d:\d\d"))).to_be_visible()
    expect(choice(page2, "Pain", 4)).to_be_checked()

    # Phone one writes; phone two brings it in when it next syncs (here: on opening).
    notes(page).fill("from phone one")
    save(page)
    wait_synced(page)
    page2.reload()
    expect(notes(page2)).to_have_value("from phone one", timeout=SYNC_WAIT_MS)

    # A conflict: phone two edits offline, phone one edits later and syncs first.
    two.set_offline(True)
    notes(page2).fill("phone two, offline")
    save(page2)
    notes(page).fill("phone one, later")
    save(page)
    wait_synced(page)
    two.set_offline(False)
    conflict = page2.get_by_role("group", name="Changed on another device")
    expect(conflict).to_be_visible(timeout=SYNC_WAIT_MS)
    expect(conflict.get_by_text("Notes: phone one, later")).to_be_visible()
    expect(conflict.get_by_text("Notes: phone two, offline")).to_be_visible()
    expect(status(page2)).to_contain_text("1 change needs you")
    # The stored version is kept until the patient decides; then theirs is applied again.
    assert clinician_get(live, f"/patients/{pid}/entries?from={day}&to={day}")["entries"][0]["notes"] == (
        "phone one, later"
    )
    conflict.get_by_role("button", name="Use this phone's version").click()
    wait_synced(page2)
    expect(conflict).to_have_count(0)
    assert clinician_get(live, f"/patients/{pid}/entries?from={day}&to={day}")["entries"][0]["notes"] == (
        "phone two, offline"
    )
    assert problems == []


def test_keep_the_stored_version(live, browser):
    day = today().isoformat()
    pid, ctx, page = enrolled_phone(live, browser)
    ctx.set_offline(True)
    notes(page).fill("mine, offline")
    save(page)
    r = live["client"].get("/api/v1/me", headers={})  # the API is untouched by the page being offline
    assert r.status_code == 401
    # Another device writes the same day later (through the API, as a third-party app would).
    other = live["client"].post(
        "/api/v1/enroll", json={"code": fresh_code(live, pid), "device_name": "tablet"}
    )
    headers = {"Authorization": f"Bearer {other.json['token']}"}
    r = live["client"].put(
        f"/api/v1/me/entries/{day}",
        json={"pain": 2, "notes": "the tablet's", "recorded_at": _now_iso()},
        headers=headers,
    )
    assert r.status_code == 201
    ctx.set_offline(False)
    conflict = page.get_by_role("group", name="Changed on another device")
    expect(conflict.get_by_text("Notes: the tablet's")).to_be_visible(timeout=SYNC_WAIT_MS)
    conflict.get_by_role("button", name="Keep the stored version").click()
    wait_synced(page)
    expect(notes(page)).to_have_value("the tablet's")
    [entry] = clinician_get(live, f"/patients/{pid}/entries?from={day}&to={day}")["entries"]
    assert entry["notes"] == "the tablet's" and entry["pain"] == 2


def _now_iso():
    from datetime import UTC, datetime

    return datetime.now(UTC).isoformat()


def test_the_shell_opens_offline_after_one_visit(live, browser):
    base = live["base"]
    pid, ctx, page = enrolled_phone(live, browser)
    score(page, "Mood", 6)
    save(page)
    wait_synced(page)
    page.close()

    ctx.set_offline(True)
    for url in ("/app/", "/app/#/history", "/app/enroll"):
        tab = ctx.new_page()
        problems = watch(tab)
        tab.goto(base + url)
        expect(tab.locator("#sync-status")).to_contain_text("Offline")
        assert problems == [], (url, problems)
        tab.close()
    tab = ctx.new_page()
    tab.goto(base + "/app/#/history")
    expect(tab.get_by_role("heading", name="History")).to_be_visible()
    expect(tab.get_by_role("link", name=re.compile(r"Mood"))).to_have_count(0)  # history shows pain, not mood
    tab.goto(base + "/app/#/")
    expect(choice(tab, "Mood", 6)).to_be_checked()
    # Screens that need the network say so instead of failing.
    tab.goto(base + "/app/#/summary")
    expect(tab.get_by_text("Your summary needs a connection")).to_be_visible()


def _queue_entries(page, count):
    """Queue `count` days offline through the app's own outbox module (as saving them one by one would)."""
    page.evaluate(
        """async (count) => {
            const { saveEntries } = await import('./js/outbox.js');
            const { addDays } = await import('./js/days.js');
            const { today } = await import('./js/state.js');
            const list = [];
            for (let i = 1; i <= count; i++) {
                list.push({ date: addDays(today(), -i), fields: { pain: i % 11, notes: `day ${i}` } });
            }
            await saveEntries(list);
        }""",
        count,
    )


def test_a_tab_killed_mid_sync_loses_nothing(live, browser):
    base = live["base"]
    pid, ctx, page = enrolled_phone(live, browser)
    ctx.set_offline(True)
    _queue_entries(page, 300)  # two batches: 250, then 50
    expect(status(page)).to_contain_text("300 changes waiting to sync")

    # The first batch reaches the server and is stored; the tab dies before it hears the answer.
    seen = []

    def die_after_the_server_stored_it(route):
        seen.append(route.request.post_data_json)
        route.fetch()
        page.close(run_before_unload=False)

    page.route("**/api/v1/me/sync", die_after_the_server_stored_it)
    ctx.set_offline(False)
    page.wait_for_event("close", timeout=SYNC_WAIT_MS)
    assert len(seen[0]["entries"]) == 250
    stored = clinician_get(live, f"/patients/{pid}/entries")["entries"]
    assert len(stored) == 250

    # Reopen: the phone still holds all 300, resends the first batch (unchanged) and finishes.
    again = ctx.new_page()
    problems = watch(again)
    sent = []
    again.on("request", lambda r: sent.append(r) if r.url.endswith("/me/sync") else None)
    again.goto(base + "/app/")
    wait_synced(again)
    stored = clinician_get(live, f"/patients/{pid}/entries")["entries"]
    assert len(stored) == 300
    assert {e["notes"] for e in stored} == {f"day {i}" for i in range(1, 301)}
    assert len(sent) >= 2 and problems == []


def test_the_network_lost_mid_sync_is_retried(live, browser):
    pid, ctx, page = enrolled_phone(live, browser)
    ctx.set_offline(True)
    _queue_entries(page, 5)
    attempts = []

    def drop_the_first(route):
        attempts.append(1)
        if len(attempts) == 1:
            route.abort("connectionreset")
        else:
            route.continue_()

    page.route("**/api/v1/me/sync", drop_the_first)
    ctx.set_offline(False)
    wait_synced(page)
    assert len(attempts) >= 2
    assert len(clinician_get(live, f"/patients/{pid}/entries")["entries"]) == 5


def test_a_rejected_change_says_why_and_stays_editable(live, browser):
    day = today().isoformat()
    pid, ctx, page = enrolled_phone(live, browser)
    # A version the server refuses (another app version might send one): pain 11.
    page.evaluate(
        """async () => {
            const { saveEntry } = await import('./js/outbox.js');
            const { today } = await import('./js/state.js');
            await saveEntry(today(), { pain: 11, notes: 'too much' });
        }"""
    )
    page.reload()
    alert = page.get_by_role("alert").filter(has_text="Not accepted")
    expect(alert).to_contain_text("Pain: Must be between 0 and 10.", timeout=SYNC_WAIT_MS)
    expect(status(page)).to_contain_text("1 change needs you")
    expect(notes(page)).to_have_value("too much")
    score(page, "Pain", 10)
    save(page)
    wait_synced(page)
    expect(alert).to_have_count(0)
    [entry] = clinician_get(live, f"/patients/{pid}/entries?from={day}&to={day}")["entries"]
    assert (entry["pain"], entry["notes"]) == (10, "too much")


def test_yesterday_history_and_the_keyboard(live, browser):
    yesterday = today().fromordinal(today().toordinal() - 1).isoformat()
    pid, ctx, page = enrolled_phone(live, browser)
    page.get_by_role("link", name="Yesterday").click()
    expect(page.get_by_role("heading", name="Yesterday", exact=True)).to_be_visible()
    # Keyboard only: arrows move within a scale, Tab leaves it, Enter saves.
    page.get_by_role("group", name="Fatigue", exact=True).get_by_label("0 no fatigue").focus()
    page.keyboard.press("Space")
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    notes(page).focus()
    page.keyboard.type("late diary, typed")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Save", exact=True)).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_text("Saved on this phone.")).to_be_visible()
    # Yesterday's dose at its planned time.
    page.get_by_label("Time").fill("22:30")
    page.get_by_role("button", name="Skipped").click()
    expect(page.locator(".logged strong", has_text="Skipped (at 22:30)")).to_be_visible()
    wait_synced(page)
    [entry] = clinician_get(live, f"/patients/{pid}/entries?from={yesterday}&to={yesterday}")["entries"]
    assert (entry["fatigue"], entry["notes"]) == (3, "late diary, typed")
    [dose] = clinician_get(live, f"/patients/{pid}/doses?from={yesterday}&to={yesterday}")["doses"]
    assert dose["status"] == "skipped" and dose["taken_at"].startswith(f"{yesterday}T22:30")

    page.get_by_role("link", name="History").click()
    row = page.get_by_role("link", name=re.compile(r"dose skipped"))
    expect(row).to_have_count(1)
    row.click()
    expect(page.get_by_role("heading", name="Yesterday", exact=True)).to_be_visible()
    expect(page).to_have_url(re.compile(rf"#/day/{yesterday}$"))


@pytest.mark.parametrize("erase", [False, True], ids=["sign-out", "erase"])
def test_sign_out_or_erase_from_the_phone(live, browser, erase):
    pid, ctx, page = enrolled_phone(live, browser)
    score(page, "Pain", 3)
    save(page)
    wait_synced(page)
    page.get_by_role("link", name="My data").click()
    with page.expect_download() as download:
        page.get_by_role("button", name="Download everything").click()
    exported = json.loads(open(download.value.path(), encoding="utf-8").read())
    assert exported["patient"]["id"] == pid and [e["pain"] for e in exported["entries"]] == [3]
    if erase:
        page.get_by_label("Type DELETE to confirm").fill("delete")
        page.get_by_role("button", name="Erase all my data").click()
        expect(page.get_by_text("Type DELETE in capitals to confirm.")).to_be_visible()
        assert (
            live["client"].get(f"/api/v1/patients/{pid}", headers=live["clinic"]["headers"]).status_code
            == 200
        )
        page.get_by_label("Type DELETE to confirm").fill("DELETE")
        page.get_by_role("button", name="Erase all my data").click()
        expect(page.get_by_text("Your diary was erased")).to_be_visible()
        assert (
            live["client"].get(f"/api/v1/patients/{pid}", headers=live["clinic"]["headers"]).status_code
            == 404
        )
    else:
        page.get_by_role("button", name="Sign out of this phone").click()
        expect(page.get_by_role("heading", name="Connect this phone")).to_be_visible()
        devices = clinician_get(live, f"/patients/{pid}/devices")["devices"]
        assert [d["revoked_at"] is not None for d in devices] == [True]
    # Nothing of the diary is left on the phone.
    left = page.evaluate(
        """async () => {
            const { getAll, getMeta } = await import('./js/db.js');
            return { entries: (await getAll('entries')).length, token: (await getMeta('token')) || null };
        }"""
    )
    assert left == {"entries": 0, "token": None}


def test_notifications_are_acknowledged_when_read(live, browser):
    from datetime import timedelta

    from diary import db as dbmod
    from diary.clock import parse_utc_text
    from diary.reminders.tick import tick

    base = live["base"]
    pid, code = new_patient(live)
    conn = dbmod.connect(live["database"])
    dues = conn.execute(
        "SELECT next_due_utc FROM reminders WHERE patient_id = ? AND kind IN ('dose', 'diary')"
        " ORDER BY next_due_utc",
        (pid,),
    ).fetchall()
    # The weekly questionnaire reminder (Sundays) is not this test's.
    conn.execute(
        "UPDATE reminders SET next_due_utc = NULL WHERE patient_id = ? AND kind = 'questionnaire'", (pid,)
    )
    for (due,) in dues:  # each reminder on time: the diary one, then the dose one
        tick(conn, parse_utc_text(due) + timedelta(seconds=1), {"REMINDER_GRACE_MINUTES": 120})
    ctx = phone(browser)
    page = ctx.new_page()
    connect(page, base, code)
    page.get_by_role("link", name="Notifications").click()
    expect(page.get_by_text("Time for your evening dose")).to_be_visible()
    expect(page.get_by_text("A minute for today's diary?")).to_be_visible()
    expect(page.locator(".tag", has_text="new")).to_have_count(2)
    unacked = None
    for _ in range(50):
        unacked = conn.execute(
            "SELECT COUNT(*) FROM deliveries WHERE patient_id = ? AND acked_at IS NULL", (pid,)
        ).fetchone()[0]
        if not unacked:
            break
        page.wait_for_timeout(100)
    total = conn.execute("SELECT COUNT(*) FROM deliveries WHERE patient_id = ?", (pid,)).fetchone()[0]
    conn.close()
    assert (total, unacked) == (2, 0)
    # Read once, no longer new.
    page.reload()
    expect(page.get_by_text("Time for your evening dose")).to_be_visible()
    expect(page.locator(".tag", has_text="new")).to_have_count(0)
    page.get_by_role("link", name="Reminders").click()
    expect(page.get_by_role("heading", name="Dose reminder")).to_be_visible()
    expect(page.get_by_label("Time").first).to_have_value("22:00")


def test_a_push_shows_the_reminder_once_even_when_resent(live, browser):
    """The service worker turns a push message into a notification tagged with its delivery id."""

    pid, ctx, page = enrolled_phone(live, browser)
    ctx.grant_permissions(["notifications"], origin=live["base"])
    cdp = ctx.new_cdp_session(page)
    registrations = []
    cdp.on("ServiceWorker.workerRegistrationUpdated", lambda e: registrations.extend(e["registrations"]))
    cdp.send("ServiceWorker.enable")
    for _ in range(50):
        if registrations:
            break
        page.wait_for_timeout(100)
    [registration] = [r for r in registrations if not r["isDeleted"]]
    assert registration["scopeURL"] == live["base"] + "/app/"
    message = {
        "delivery_id": "5d1f0c1e-0000-4000-8000-000000000001",
        "title": "Reminder",
        "body": "Time for your evening dose",
    }
    for _ in range(2):  # a resend after a crash carries the same delivery id
        cdp.send(
            "ServiceWorker.deliverPushMessage",
            {
                "origin": live["base"],
                "registrationId": registration["registrationId"],
                "data": json.dumps(message),
            },
        )

    def shown():
        return page.evaluate(
            """async () => (await (await navigator.serviceWorker.ready).getNotifications())
                .map(n => [n.title, n.body, n.tag])"""
        )

    for _ in range(50):
        if shown():
            break
        page.wait_for_timeout(100)
    page.wait_for_timeout(300)  # the second push has been handled too
    assert shown() == [["Reminder", "Time for your evening dose", message["delivery_id"]]]


def test_weekly_questions_are_shown_when_due_and_answered(live, browser):
    pid, ctx, page = enrolled_phone(live, browser)
    problems = watch(page)
    page.get_by_role("link", name="Weekly questions").click()
    expect(page.get_by_role("heading", name="Weekly questions", exact=True)).to_be_visible()
    # On treatment for 30 days and never answered: the PEG and the PGIC are due, in their exact words.
    peg = page.locator("form[data-instrument=peg]")
    expect(peg).to_be_visible()
    pgic = page.locator("form[data-instrument=pgic]")
    expect(
        pgic.get_by_role("group", name="Since the start of treatment, my overall status is:")
    ).to_be_visible()
    pain = "What number best describes your pain on average in the past week?"
    page.get_by_role("group", name=pain).get_by_role("radio", name="6", exact=True).check()
    enjoyment = "What number best describes how, during the past week, pain has interfered with your enjoyment of life?"
    page.get_by_role("group", name=enjoyment).get_by_role("radio", name="5", exact=True).check()
    activity = "What number best describes how, during the past week, pain has interfered with your general activity?"
    page.get_by_role("group", name=activity).get_by_role("radio", name="7", exact=True).check()
    peg.get_by_role("button", name="Send answers").click()
    expect(peg.get_by_role("status")).to_have_text("Sent. Thank you.")
    pgic.get_by_role("radio", name="2: Much improved").check()
    pgic.get_by_role("button", name="Send answers").click()
    expect(pgic.get_by_role("status")).to_have_text("Sent. Thank you.")
    answered = clinician_get(live, f"/patients/{pid}/questionnaires")
    assert [(q["instrument"], q["date"], q["score"]) for q in answered["questionnaires"]] == [
        ("peg", today().isoformat(), 6),
        ("pgic", today().isoformat(), 2),
    ]
    page.reload()
    expect(page.get_by_text("Nothing to answer this week. Thank you.")).to_be_visible()
    assert problems == []
    ctx.close()
