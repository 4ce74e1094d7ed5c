"""CLI: `diary reminders tick|status|preview` and `diary scheduler`."""

import json
import sys

import click

from diary import db as dbmod
from diary import logging_setup
from diary.cli_common import aware_instant, settings
from diary.clock import utcnow
from diary.reminders import process, schedule
from diary.reminders.tick import status as reminder_status
from diary.reminders.tick import tick as run_tick


@click.group("reminders")
def reminders():
    """Dose and diary reminders."""


@reminders.command("tick")
@click.option("--now", "now_text", default=None, help="Tick at this ISO-8601 instant (default: now).")
def tick_command(now_text):
    """Run one reminder tick and print its JSON summary."""
    config = settings()
    logging_setup.configure(config["LOG_LEVEL"])
    now = aware_instant(now_text) if now_text else utcnow()
    conn = dbmod.connect(config["DATABASE"])
    try:
        counts = run_tick(conn, now, config)
    finally:
        conn.close()
    click.echo(json.dumps(counts))


@reminders.command("status")
@click.option("--now", "now_text", default=None, help="Report as of this ISO-8601 instant (default: now).")
def status_command(now_text):
    """Print the reminder engine's state as JSON: due, pending, delivered in 24 h, set-aside rows."""
    config = settings()
    now = aware_instant(now_text) if now_text else utcnow()
    conn = dbmod.connect(config["DATABASE"])
    try:
        state = reminder_status(conn, now)
    finally:
        conn.close()
    click.echo(json.dumps(state, indent=2))


@reminders.command("preview")
@click.argument("patient_id")
@click.option("--days", default=7, show_default=True, type=click.IntRange(1, 366))
@click.option("--now", "now_text", default=None, help="Preview from this ISO-8601 instant.")
def preview_command(patient_id, days, now_text):
    """Print a patient's coming reminder times, local and UTC, as JSON."""
    config = settings()
    now = aware_instant(now_text) if now_text else utcnow()
    conn = dbmod.connect(config["DATABASE"])
    try:
        found = schedule.upcoming(conn, patient_id, now, days)
    finally:
        conn.close()
    if found is None:
        raise click.ClickException(f"no patient {patient_id}")
    click.echo(json.dumps({"patient_id": patient_id, "from": now.isoformat(), "reminders": found}, indent=2))


@click.command("scheduler")
@click.option(
    "--tick-seconds",
    type=click.IntRange(1, 3600),
    default=None,
    help="Seconds between ticks (default: SCHEDULER_TICK_SECONDS).",
)
def scheduler(tick_seconds):
    """Run the reminder scheduler (one per database) until SIGTERM."""
    config = settings()
    logging_setup.configure(config["LOG_LEVEL"])
    sys.exit(process.run(config, tick_seconds))
