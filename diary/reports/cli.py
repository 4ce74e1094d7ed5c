"""`diary audit` and `diary snapshot-due`: the audit trail and appointment snapshots from the shell."""

import json

import click

from diary import audit as audit_mod
from diary.cli_common import open_db, settings
from diary.clock import utcnow
from diary.reports.snapshots import snapshot_upcoming_appointments


@click.command("audit")
@click.option("--patient", "patient_id", required=True, help="Patient id whose audit trail to print.")
def audit(patient_id):
    """Print a patient's audit trail, one JSON object per line, oldest first."""
    conn = open_db()
    try:
        for row in audit_mod.list_for_patient(conn, patient_id):
            click.echo(json.dumps(row))
    finally:
        conn.close()


@click.command("snapshot-due")
def snapshot_due():
    """Snapshot the report of every appointment in the next 24 hours (the scheduler does this each tick)."""
    conn = open_db()
    try:
        made = snapshot_upcoming_appointments(conn, utcnow(), settings())
    finally:
        conn.close()
    click.echo(json.dumps({"snapshots": made}))
