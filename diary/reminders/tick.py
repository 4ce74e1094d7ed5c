"""One scheduler tick at an explicit instant: claim due reminders, advance them, send.

Claims and advances run in short ``BEGIN IMMEDIATE`` transactions; network I/O
runs outside any transaction. A delivery is claimed by inserting its ledger row,
keyed UNIQUE(reminder_id, local_date): only the inserter sends it, so two ticks
running at once (two schedulers by mistake) never send a local date twice.
A reminder whose claim raises is set aside (``claim_*`` columns) and retried
with backoff; the rest of its batch goes on.
"""

import logging
import uuid
from datetime import date, timedelta

from diary import clock, dosing, questionnaires_due
from diary import db as dbmod
from diary.clock import parse_utc_text, to_utc_text
from diary.logging_setup import exception_brief
from diary.reminders import rules
from diary.reminders.channels import FAILED, RETRY, SENT, Channels, Webhook, payload
from diary.reminders.webpush import WebPush

log = logging.getLogger("diary.reminders")

# Rows per claim transaction: long enough to be cheap, short enough not to
# hold the write lock for long against web workers.
CLAIM_BATCH = 1000
# Occurrences one reminder may catch up in a tick (one a day: a month's outage).
MAX_CATCH_UP = 31
BACKOFF_FIRST_SECONDS = 30
BACKOFF_MAX_SECONDS = 15 * 60
# While a POST is in flight the delivery is leased to this tick; a crash lets
# the lease run out and the next tick resends with the same Idempotency-Key.
LEASE_MARGIN_SECONDS = 30

_CONFIG_WEBHOOK = object()


def summary():
    """Return an empty tick summary."""
    return {"due": 0, "sent": 0, "skipped_done": 0, "expired": 0, "failed": 0}


def backoff(attempts):
    """Seconds to wait before the next push attempt after ``attempts`` attempts."""
    return min(BACKOFF_FIRST_SECONDS * 2 ** max(attempts - 1, 0), BACKOFF_MAX_SECONDS)


def tick(conn, now, config, webhook=_CONFIG_WEBHOOK, should_stop=None, after_post=None):
    """Run one tick at ``now`` against ``conn``; return the summary counts.

    ``webhook`` defaults to the one in ``config``; ``should_stop`` is polled
    between pushes so a stopping process leaves promptly; ``after_post`` is
    called with the delivery id after each POST (tests simulate crashes there).
    """
    if now.tzinfo is None:
        raise ValueError("naive datetime")
    if webhook is _CONFIG_WEBHOOK:
        webhook = Webhook.from_config(config)
    channels = Channels(webhook, WebPush.from_config(config, conn, now))
    grace = timedelta(minutes=int(config.get("REMINDER_GRACE_MINUTES", 120)))
    now_text = to_utc_text(now)
    counts = summary()
    if not _anything_due(conn, now_text):
        return counts
    while _claim_batch(conn, now, now_text, grace, channels, counts) == CLAIM_BATCH:
        pass
    _send_pending(conn, now, now_text, grace, channels, counts, should_stop, after_post)
    return counts


def _anything_due(conn, now_text):
    # Two indexed probes: a quiet tick must not take the write lock.
    if conn.execute(
        "SELECT 1 FROM reminders WHERE next_due_utc <= ?"
        " AND (claim_retry_at IS NULL OR claim_retry_at <= ?) LIMIT 1",
        (now_text, now_text),
    ).fetchone():
        return True
    return (
        conn.execute(
            "SELECT 1 FROM deliveries WHERE status = 'pending' AND next_attempt_at <= ? LIMIT 1", (now_text,)
        ).fetchone()
        is not None
    )


_DUE_SQL = """
SELECT r.id, r.patient_id, r.kind, r.time, r.days, r.enabled, r.next_due_utc, r.next_local_date,
       r.claim_failures, p.timezone, p.reminder_detail, t.platform AS push_platform
FROM reminders r
JOIN patients p ON p.id = r.patient_id
LEFT JOIN push_tokens t ON t.patient_id = r.patient_id
WHERE r.next_due_utc <= ? AND (r.claim_retry_at IS NULL OR r.claim_retry_at <= ?)
ORDER BY r.next_due_utc
LIMIT ?
"""


def _claim_batch(conn, now, now_text, grace, channels, counts):
    with dbmod.write(conn):
        rows = conn.execute(_DUE_SQL, (now_text, now_text, CLAIM_BATCH)).fetchall()
        for row in rows:
            claimed = summary()
            try:
                # A savepoint per reminder: one that raises is undone alone and set aside.
                with dbmod.write(conn):
                    _claim_reminder(conn, row, now, now_text, grace, channels, claimed)
                    _clear_set_aside(conn, row)
            except Exception as exc:
                if not conn.in_transaction:
                    raise  # the error ended the whole transaction: the next tick retries the batch
                _set_aside(conn, row, now, exc)
            else:
                for key, value in claimed.items():
                    counts[key] += value
    return len(rows)


def _set_aside(conn, row, now, exc):
    failures = row["claim_failures"] + 1
    retry_at = to_utc_text(now + timedelta(seconds=backoff(failures)))
    error = exception_brief(exc)
    conn.execute(
        "UPDATE reminders SET claim_failures = ?, claim_error = ?, claim_retry_at = ? WHERE id = ?",
        (failures, error, retry_at, row["id"]),
    )
    log.warning("reminder %s set aside (failure %s, retry at %s): %s", row["id"], failures, retry_at, error)


def _clear_set_aside(conn, row):
    if row["claim_failures"]:
        conn.execute(
            "UPDATE reminders SET claim_failures = 0, claim_error = NULL, claim_retry_at = NULL WHERE id = ?",
            (row["id"],),
        )


def _claim_reminder(conn, row, now, now_text, grace, channels, counts):
    if not row["enabled"]:
        conn.execute(
            "UPDATE reminders SET next_due_utc = NULL, next_local_date = NULL WHERE id = ?", (row["id"],)
        )
        return
    tz = row["timezone"]
    wall = rules.parse_time(row["time"])
    days = rules.parse_days(row["days"])
    due = parse_utc_text(row["next_due_utc"])
    local_date = row["next_local_date"] or clock.local_date(due, tz).isoformat()
    for _ in range(MAX_CATCH_UP):
        _claim_occurrence(conn, row, wall, local_date, due, now, now_text, grace, channels, counts)
        nxt = rules.next_occurrence(wall, days, tz, due, after_date=date.fromisoformat(local_date))
        if nxt is None:
            due = None
            break
        local_date, due = nxt[0].isoformat(), nxt[1]
        if due > now:
            break
    else:
        # An outage longer than the catch-up window: those days stay unrecorded.
        nxt = rules.next_occurrence(wall, days, tz, now, after_date=date.fromisoformat(local_date))
        due = None if nxt is None else nxt[1]
        local_date = None if nxt is None else nxt[0].isoformat()
    conn.execute(
        "UPDATE reminders SET next_due_utc = ?, next_local_date = ? WHERE id = ?",
        (None if due is None else to_utc_text(due), local_date if due else None, row["id"]),
    )


def _claim_occurrence(conn, row, wall, local_date, due, now, now_text, grace, channels, counts):
    if _already_done(conn, row["kind"], row["patient_id"], local_date, row["timezone"]):
        status = "skipped_done"
    elif now - due > grace:
        status = "expired"
    elif channels.for_platform(row["push_platform"]) is not None:
        status = "pending"
    else:
        # The deliveries row is the in-app outbox: with no push channel, the
        # insert itself is the delivery.
        status = "sent"
    title, body = _text(conn, row, wall, local_date)
    delivery_id = str(uuid.uuid4())
    inserted = conn.execute(
        "INSERT INTO deliveries (id, reminder_id, patient_id, kind, local_date, due_at, claimed_at,"
        " status, title, body, attempts, next_attempt_at, sent_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (reminder_id, local_date) DO NOTHING",
        (
            delivery_id,
            row["id"],
            row["patient_id"],
            row["kind"],
            local_date,
            to_utc_text(due),
            now_text,
            status,
            title,
            body,
            1 if status == "sent" else 0,
            now_text if status == "pending" else None,
            now_text if status == "sent" else None,
        ),
    ).rowcount
    if not inserted:
        return  # that local date already had its reminder
    counts["due"] += 1
    # delivery_attempts holds push attempts; an outbox-only delivery is fully
    # recorded by its own row (claimed_at = sent_at, attempts = 1).
    if status != "pending":
        counts[status] += 1


def _already_done(conn, kind, patient_id, local_date, timezone):
    if kind == "questionnaire":
        # Nothing due that day (diary/questionnaires.py): the reminder has nothing to ask.
        due, _ = questionnaires_due.due_today(conn, patient_id, timezone, date.fromisoformat(local_date))
        return not any(due.values())
    if kind == "diary":
        sql = "SELECT 1 FROM entries WHERE patient_id = ? AND date = ? AND deleted = 0"
        return conn.execute(sql, (patient_id, local_date)).fetchone() is not None
    # Taken or skipped: either way the patient has dealt with the dose. Which planned
    # day a dose counts for is the report's rule (a 00:30 dose is the evening before's).
    regimen = conn.execute(
        "SELECT medication, dose_time FROM regimens WHERE patient_id = ?", (patient_id,)
    ).fetchone()
    day = date.fromisoformat(local_date)
    doses = conn.execute(
        "SELECT medication, local_date, taken_at FROM doses WHERE patient_id = ? AND deleted = 0"
        " AND local_date BETWEEN ? AND ?",
        (patient_id, (day - timedelta(days=1)).isoformat(), (day + timedelta(days=1)).isoformat()),
    ).fetchall()
    if regimen is None:
        return any(d["local_date"] == local_date for d in doses)
    rule = dosing.DayRule(regimen["medication"], regimen["dose_time"], timezone)
    return dosing.dose_logged_for(rule, day, doses)


def _text(conn, row, wall, local_date):
    if row["kind"] != "dose" or not row["reminder_detail"]:
        return rules.message(row["kind"], wall)
    regimen = conn.execute(
        "SELECT medication FROM regimens WHERE patient_id = ?", (row["patient_id"],)
    ).fetchone()
    steps = conn.execute(
        "SELECT start_date, dose_ug FROM regimen_steps WHERE patient_id = ?", (row["patient_id"],)
    ).fetchall()
    return rules.message(
        "dose",
        wall,
        detail=True,
        medication=regimen["medication"] if regimen else None,
        dose_ug=rules.planned_dose_ug([tuple(s) for s in steps], local_date),
    )


_PENDING_SQL = """
SELECT d.id, d.patient_id, d.due_at, d.attempts, d.next_attempt_at, d.title, d.body,
       t.platform, t.token
FROM deliveries d
LEFT JOIN push_tokens t ON t.patient_id = d.patient_id
WHERE d.status = 'pending' AND d.next_attempt_at <= ?
ORDER BY d.next_attempt_at
"""


def _send_pending(conn, now, now_text, grace, channels, counts, should_stop, after_post):
    for row in conn.execute(_PENDING_SQL, (now_text,)).fetchall():
        if should_stop is not None and should_stop():
            break  # still pending in the ledger: the next start sends it
        deadline = parse_utc_text(row["due_at"]) + grace
        channel = channels.for_platform(row["platform"])
        if channel is None or row["token"] is None:
            # The push channel went away since the claim: the outbox row is the delivery.
            _finish(conn, row["id"], now_text, "sent", None, counts)
        elif now > deadline:
            _finish(
                conn,
                row["id"],
                now_text,
                "failed" if row["attempts"] else "expired",
                "grace window closed",
                counts,
            )
        else:
            _push(conn, row, now, now_text, deadline, channel, counts, after_post)


def _push(conn, row, now, now_text, deadline, channel, counts, after_post):
    lease = now + timedelta(seconds=channel.timeout + LEASE_MARGIN_SECONDS)
    with dbmod.write(conn):
        taken = conn.execute(
            "UPDATE deliveries SET attempts = attempts + 1, next_attempt_at = ?"
            " WHERE id = ? AND status = 'pending' AND next_attempt_at = ?",
            (to_utc_text(lease), row["id"], row["next_attempt_at"]),
        ).rowcount
        if not taken:
            return  # another tick holds it
        attempt_id = conn.execute(
            "INSERT INTO delivery_attempts (delivery_id, attempted_at, channel, outcome)"
            " VALUES (?, ?, ?, 'in_flight')",
            (row["id"], now_text, channel.name),
        ).lastrowid
    data = payload(row["id"], row["patient_id"], row["platform"], row["token"], row["title"], row["body"])
    outcome = channel.send(row["id"], data)
    if after_post is not None:
        after_post(row["id"])
    attempts = row["attempts"] + 1
    retry_at = now + timedelta(seconds=backoff(attempts))
    if outcome.result == RETRY and retry_at <= deadline:
        status, outcome_name = "pending", "retry"
    elif outcome.result == SENT:
        status, outcome_name = "sent", "sent"
    else:
        status, outcome_name = "failed", "failed"
    with dbmod.write(conn):
        conn.execute(
            "UPDATE delivery_attempts SET outcome = ?, http_status = ?, error = ? WHERE id = ?",
            (outcome_name, outcome.http_status, outcome.error, attempt_id),
        )
        conn.execute(
            "UPDATE deliveries SET status = ?, next_attempt_at = ?, sent_at = ?, last_error = ? WHERE id = ?",
            (
                status,
                to_utc_text(retry_at) if status == "pending" else None,
                now_text if status == "sent" else None,
                outcome.error,
                row["id"],
            ),
        )
    if status != "pending":
        counts[status] += 1
    if status == FAILED or outcome.result == RETRY:
        log.info("push delivery %s: %s (%s)", row["id"], outcome_name, outcome.error)


def _finish(conn, delivery_id, now_text, status, error, counts):
    with dbmod.write(conn):
        done = conn.execute(
            "UPDATE deliveries SET status = ?, next_attempt_at = NULL, sent_at = ?,"
            " last_error = COALESCE(?, last_error) WHERE id = ? AND status = 'pending'",
            (status, now_text if status == "sent" else None, error, delivery_id),
        ).rowcount
    if done:
        counts[status] += 1


_SET_ASIDE_SQL = """
SELECT r.id AS reminder_id, r.patient_id, r.kind, r.next_due_utc AS due_at, r.next_local_date AS local_date,
       r.claim_failures AS failures, r.claim_retry_at AS retry_at, r.claim_error AS error
FROM reminders r
WHERE r.claim_retry_at IS NOT NULL
ORDER BY r.claim_retry_at, r.id
"""


def status(conn, now):
    """Return the reminder engine's state at ``now``: what is due, pending, recently delivered, set aside."""
    now_text = to_utc_text(now)
    due_now = conn.execute(
        "SELECT COUNT(*) FROM reminders WHERE next_due_utc <= ?"
        " AND (claim_retry_at IS NULL OR claim_retry_at <= ?)",
        (now_text, now_text),
    ).fetchone()[0]
    pending = conn.execute("SELECT COUNT(*) FROM deliveries WHERE status = 'pending'").fetchone()[0]
    recent = conn.execute(
        "SELECT status, COUNT(*) FROM deliveries WHERE claimed_at > ? GROUP BY status ORDER BY status",
        (to_utc_text(now - timedelta(hours=24)),),
    ).fetchall()
    next_due = conn.execute("SELECT min(next_due_utc) FROM reminders").fetchone()[0]
    return {
        "now": now_text,
        "due_now": due_now,
        "next_due_at": next_due,
        "pending_deliveries": pending,
        "deliveries_last_24h": {row[0]: row[1] for row in recent},
        "set_aside": [dict(row) for row in conn.execute(_SET_ASIDE_SQL)],
    }
