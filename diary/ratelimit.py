"""Brute-force limits for login and enrollment: a pure rule, and counts kept in the database.

The counts live in SQLite (table ``rate_limit_events``), so every gunicorn
worker sees the same numbers. An attempt is counted in its own short
``BEGIN IMMEDIATE`` transaction *before* the password or code is checked, so
two workers cannot both let the guess after the limit through (and the slow
scrypt check runs outside the write lock); a successful attempt is uncounted
afterwards.

The client address is ``request.remote_addr``: the TCP peer unless
``TRUSTED_PROXIES`` makes the app trust that many ``X-Forwarded-For`` hops
(Werkzeug ProxyFix). Behind a proxy without it, every client shares the
proxy's address and therefore its per-address limit.
"""

import hashlib
import math
from collections import namedtuple
from datetime import timedelta

from diary.clock import parse_utc_text, to_utc_text
from diary.errors import abort

# One counted limit: at most ``max_failures`` events of (scope, key) within ``window``.
Limit = namedtuple("Limit", "scope key max_failures window")

LOGIN_ACCOUNT = "login_account"
LOGIN_ADDRESS = "login_address"
ENROLL_ADDRESS = "enroll_address"
ENROLL_GLOBAL = "enroll_global"


def retry_after_seconds(times, now, max_failures, window):
    """Whole seconds until one more attempt is allowed (0: allowed now) under a sliding window.

    ``times`` are the instants of counted failures; ``max_failures`` <= 0 turns
    the limit off.
    """
    if max_failures <= 0:
        return 0
    recent = sorted(t for t in times if now - window < t <= now)
    if len(recent) < max_failures:
        return 0
    # Once this one leaves the window, fewer than max_failures remain.
    leaving = recent[len(recent) - max_failures]
    return max(1, math.ceil((leaving + window - now).total_seconds()))


def account_key(email):
    """The stored key of a login email (a hash: attempted emails are not kept in clear)."""
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


def login_limits(config, email, address):
    """The limits a clinician login attempt is counted against."""
    window = timedelta(minutes=config["LOGIN_WINDOW_MINUTES"])
    return [
        Limit(LOGIN_ACCOUNT, account_key(email), config["LOGIN_MAX_FAILURES"], window),
        Limit(LOGIN_ADDRESS, address or "-", config["LOGIN_MAX_FAILURES_PER_ADDRESS"], window),
    ]


def enroll_limits(config, address):
    """The limits an enrollment attempt is counted against (a code prefix says nothing: codes are random)."""
    window = timedelta(minutes=config["ENROLL_WINDOW_MINUTES"])
    return [
        Limit(ENROLL_ADDRESS, address or "-", config["ENROLL_MAX_FAILURES"], window),
        Limit(ENROLL_GLOBAL, "*", config["ENROLL_MAX_FAILURES_GLOBAL"], window),
    ]


def count_attempt(conn, limits, now):
    """Inside an open write transaction: refuse or count one attempt.

    Returns ``(retry_after, event_ids)``: a positive ``retry_after`` means the
    attempt is refused and nothing was counted; otherwise ``event_ids`` are the
    rows to pass to :func:`uncount` when the attempt succeeds.
    """
    wait = 0
    for limit in limits:
        # Old events of this scope can never count again.
        conn.execute(
            "DELETE FROM rate_limit_events WHERE scope = ? AND at <= ?",
            (limit.scope, to_utc_text(now - limit.window)),
        )
        rows = conn.execute(
            "SELECT at FROM rate_limit_events WHERE scope = ? AND key = ?", (limit.scope, limit.key)
        ).fetchall()
        times = [parse_utc_text(r["at"]) for r in rows]
        wait = max(wait, retry_after_seconds(times, now, limit.max_failures, limit.window))
    if wait:
        return wait, []
    ids = []
    for limit in limits:
        cur = conn.execute(
            "INSERT INTO rate_limit_events (scope, key, at) VALUES (?, ?, ?)",
            (limit.scope, limit.key, to_utc_text(now)),
        )
        ids.append(cur.lastrowid)
    return 0, ids


def uncount(conn, event_ids):
    """Remove the events of an attempt that succeeded."""
    conn.executemany("DELETE FROM rate_limit_events WHERE id = ?", [(i,) for i in event_ids])


def clear_account(conn, email):
    """Forget an account's failed logins (after a successful one); per-address counts stay."""
    conn.execute(
        "DELETE FROM rate_limit_events WHERE scope = ? AND key = ?", (LOGIN_ACCOUNT, account_key(email))
    )


def message(retry_after):
    """The refusal text shown to the client."""
    return f"Too many failed attempts; try again in {retry_after} seconds."


def abort_429(retry_after):
    """Stop the API request with 429 and Retry-After in the one error shape."""
    abort(
        429,
        message(retry_after),
        errors={"retry_after": [str(retry_after)]},
        headers={"Retry-After": str(retry_after)},
    )
