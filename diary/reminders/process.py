"""The `diary scheduler` process: one APScheduler BlockingScheduler, one tick job, one per database.

Nothing here runs on import; only ``run()`` starts a scheduler, and the CLI is
its only caller (never a web worker, never under the reloader).
"""

import fcntl
import logging
import os
import signal
import sys
import threading
from datetime import UTC

from apscheduler.events import EVENT_SCHEDULER_STARTED
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.blocking import BlockingScheduler

from diary import db as dbmod
from diary import summaries
from diary.clock import utcnow
from diary.logging_setup import exception_summary
from diary.reminders.tick import tick
from diary.reports.snapshots import snapshot_upcoming_appointments

log = logging.getLogger("diary.reminders")

LOCK_SUFFIX = ".scheduler.lock"
# SIGTERM must end the process within 5 s; leave a margin for interpreter exit.
STOP_WAIT_SECONDS = 3.5
_STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}


class AlreadyRunning(RuntimeError):
    """Another scheduler holds the lock of this database."""


def lock_path(database):
    """Return the path of the single-instance lock file of a database."""
    return os.path.abspath(str(database)) + LOCK_SUFFIX


def acquire_lock(database):
    """Take the exclusive scheduler lock of a database, or raise AlreadyRunning.

    flock is released by the kernel when the process dies, so a crashed
    scheduler never leaves a stale lock behind.
    """
    path = lock_path(database)
    handle = dbmod.open_private(path, "a+")  # held for the life of the process
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "unknown"
        handle.close()
        raise AlreadyRunning(
            f"another diary scheduler (pid {holder}) is already running on this database; lock file {path}"
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    return handle


def run(config, tick_seconds=None):
    """Run the scheduler until SIGTERM or SIGINT; return the process exit code."""
    if os.environ.get("WERKZEUG_RUN_MAIN"):
        print("diary scheduler: refusing to run under the Flask reloader", file=sys.stderr)
        return 2
    database = config["DATABASE"]
    if not os.path.exists(database) or dbmod.pending_migrations(database):
        print(
            f"diary scheduler: database {database} is missing or not migrated; run `diary migrate`",
            file=sys.stderr,
        )
        return 2
    try:
        lock = acquire_lock(database)
    except AlreadyRunning as exc:
        print(f"diary scheduler: refusing to start: {exc}", file=sys.stderr)
        return 1
    try:
        return _serve(config, database, tick_seconds or int(config["SCHEDULER_TICK_SECONDS"]))
    finally:
        lock.close()


def _serve(config, database, interval):
    stop = threading.Event()
    idle = threading.Event()
    idle.set()
    conn = dbmod.connect(database)

    def tick_job():
        if stop.is_set():
            return
        idle.clear()
        try:
            counts = tick(conn, utcnow(), config, should_stop=stop.is_set)
            if any(counts.values()):
                log.info("tick %s", counts)
        except Exception as exc:
            log.error("tick failed; the next tick retries: %s", exception_summary(exc))
        try:
            # Freeze what the clinician will see at each visit in the next 24 hours.
            made = snapshot_upcoming_appointments(conn, utcnow(), config)
            if made:
                log.info("report snapshots made: %s", made)
        except Exception as exc:
            log.error("appointment snapshots failed; the next tick retries: %s", exception_summary(exc))
        try:
            # The /patients page's stored figures follow every change within one tick.
            refreshed = summaries.refresh_due(
                conn, utcnow(), int(config["REPORT_LAG_DAYS"]), budget_seconds=interval / 2
            )
            if refreshed:
                log.info("patient summaries refreshed: %s", refreshed)
        except Exception as exc:
            log.error("patient summaries failed; the next tick retries: %s", exception_summary(exc))
        finally:
            idle.set()

    # One worker: ticks never overlap, whatever APScheduler decides.
    scheduler = BlockingScheduler(timezone=UTC, executors={"default": ThreadPoolExecutor(1)})
    scheduler.add_job(
        tick_job,
        "interval",
        seconds=interval,
        id="tick",
        next_run_time=utcnow(),
        coalesce=True,
        max_instances=1,
        # A tick late by more than one interval is skipped: the next one catches up.
        misfire_grace_time=interval,
    )

    def on_signal(signum, frame):
        if stop.is_set():
            return
        stop.set()
        # Not shutdown() here: it sets a threading.Event whose plain Lock the
        # interrupted main thread may hold, which would deadlock the handler.
        threading.Thread(target=scheduler.shutdown, kwargs={"wait": False}, daemon=True).start()

    def on_started(event):
        # Signals wait until the scheduler is RUNNING: a shutdown() inside
        # start() would be overwritten by start() and the process would hang.
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)
        log.info("scheduler started: database %s, tick every %s s", database, interval)
        print(
            f"diary scheduler: running, tick every {interval} s (pid {os.getpid()})",
            file=sys.stderr,
            flush=True,
        )

    signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
    for signum in _STOP_SIGNALS:
        signal.signal(signum, on_signal)
    scheduler.add_listener(on_started, EVENT_SCHEDULER_STARTED)
    scheduler.start()
    # A tick in flight finishes its current push; claimed deliveries stay
    # pending in the ledger and are sent on the next start.
    if not idle.wait(STOP_WAIT_SECONDS):
        log.warning("tick still running at shutdown; pending deliveries resume on next start")
        sys.stderr.flush()
        os._exit(0)
    conn.close()
    log.info("scheduler stopped")
    return 0
