"""Log lines of the service and the scheduler: ids, counts and timings, never health data.

DESIGN.md: no patient data in logs. A request line names the route template
(``url_rule``), never the raw path (it holds diary dates) nor the query string
nor a body; exceptions are logged by type and traceback frames, never by their
message (a message may echo submitted values).
"""

import logging
import os
import sys
import time
import traceback

from flask import g, request

FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
request_log = logging.getLogger("diary.requests")


def configure(level):
    """Send log lines to stderr at ``level`` (once per process; an existing root handler is kept)."""
    root = logging.getLogger()
    if not root.handlers:
        # gunicorn and the scheduler leave the root logger bare; pytest and
        # embedding programs bring their own handlers, which we keep.
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(FORMAT))
        root.addHandler(handler)
        root.setLevel(level)
    logging.getLogger("diary").setLevel(level)
    # APScheduler says "Running job ..." and "... executed successfully" at INFO on every
    # tick (twice a minute, all day): only at DEBUG. Its warnings (a missed tick) still show.
    quiet = logging.getLogger("diary").getEffectiveLevel() > logging.DEBUG
    logging.getLogger("apscheduler").setLevel(logging.WARNING if quiet else logging.DEBUG)


def start_request():
    """Note when this request started (the first before_request hook)."""
    g.request_started = time.perf_counter()


def actor():
    """``(kind, id)`` of whoever made this request: patient, clinician or anonymous."""
    row = g.get("token_row")
    if row is not None:
        return row["kind"], row["patient_id"] if row["kind"] == "patient" else row["clinician_id"]
    return "anonymous", "-"


def log_request(response):
    """Write the one line of this request: method, route template, status, duration, actor."""
    started = g.get("request_started")
    ms = (time.perf_counter() - started) * 1000 if started is not None else -1.0
    rule = request.url_rule.rule if request.url_rule is not None else "<no route>"
    kind, ident = actor()
    request_log.info("%s %s %s %.1fms %s:%s", request.method, rule, response.status_code, ms, kind, ident)
    return response


def exception_summary(exc):
    """The exception's type and traceback frames without its message (which may echo input)."""
    frames = "".join(traceback.format_tb(exc.__traceback__))
    return f"{type(exc).__module__}.{type(exc).__qualname__} (message withheld)\n{frames}".rstrip()


def exception_brief(exc):
    """One line: the exception's type and the innermost of our frames it passed, without its message."""
    frames = traceback.extract_tb(exc.__traceback__)
    marker = f"{os.sep}diary{os.sep}"
    ours = [f for f in frames if marker in f.filename]
    if ours:
        # A path inside the package, never the machine's own folders.
        frame, place = ours[-1], "diary/" + ours[-1].filename.rsplit(marker, 1)[1]
    elif frames:
        frame, place = frames[-1], os.path.basename(frames[-1].filename)
    else:
        return type(exc).__qualname__
    return f"{type(exc).__qualname__} at {place}:{frame.lineno} in {frame.name}"
