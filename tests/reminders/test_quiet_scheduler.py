"""Quiet by default: the scheduler's own lines at INFO, never APScheduler's per-tick ones."""

import os
import signal
import subprocess
import sys
import time

import pytest

pytestmark = pytest.mark.slow


def scheduler_stderr(db_path, level, seconds=2.5):
    """Run `diary scheduler --tick-seconds 1` for a few ticks at ``level``; return its stderr."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "diary.cli", "scheduler", "--tick-seconds", "1"],
        env=dict(os.environ, DIARY_DATABASE=db_path, DIARY_LOG_LEVEL=level),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(seconds)
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    return err


def test_no_per_tick_lines_at_info(db_path):
    err = scheduler_stderr(db_path, "INFO")
    assert "scheduler started" in err and "scheduler stopped" in err
    assert "apscheduler" not in err, err
    assert "Running job" not in err and "executed successfully" not in err


def test_per_tick_lines_at_debug(db_path):
    err = scheduler_stderr(db_path, "DEBUG")
    assert "Running job" in err, err
