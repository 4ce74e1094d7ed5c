"""The `diary` command group. Commands that create something print one JSON object."""

import os
import signal
import subprocess
import sys
import time

import click

from diary import db as dbmod
from diary import demo, people
from diary.cli_common import (
    emit,
    one_line,
    open_db,
    require_free_port,
    servable_settings,
    server_options,
    settings,
)
from diary.clock import utcnow
from diary.reminders import webpush
from diary.reminders.cli import reminders, scheduler
from diary.reports.cli import audit, snapshot_due


@click.group()
def main():
    """symptom-diary service commands."""


main.add_command(reminders)
main.add_command(scheduler)
main.add_command(audit)
main.add_command(snapshot_due)


@main.command()
def migrate():
    """Create or upgrade the database."""
    path = settings()["DATABASE"]
    applied = dbmod.migrate(path)
    emit({"database": path, "applied": applied})


@main.command("create-clinic")
@click.argument("name", callback=one_line)
def create_clinic(name):
    """Create a clinic."""
    conn = open_db()
    with dbmod.write(conn):
        emit(people.create_clinic(conn, name, utcnow()))


@main.command("create-clinician")
@click.option("--clinic-id", type=int, required=True)
@click.option("--email", required=True, callback=one_line)
@click.option("--name", required=True, callback=one_line)
@click.option(
    "--admin", is_flag=True, help="A clinic admin: adds and deactivates clinicians at /clinic/clinicians."
)
def create_clinician(clinic_id, email, name, admin):
    """Create a clinician; the password comes from stdin (or a prompt on a terminal)."""
    if sys.stdin.isatty():
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    conn = open_db()
    try:
        with dbmod.write(conn):
            clinician = people.create_clinician(conn, clinic_id, email, name, password, utcnow(), admin=admin)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    emit(clinician)


@main.command("demo")
@click.option("--if-empty", is_flag=True, help="Only load when the database has no clinic yet.")
def load_demo(if_empty):
    """Load the demo clinic, clinician and LDN patient (idempotent)."""
    conn = open_db()
    has_clinic = conn.execute("SELECT 1 FROM clinics LIMIT 1").fetchone() is not None
    creds = demo.demo_credentials(conn)
    created = False
    if creds is None and not (if_empty and has_clinic):
        creds, created = demo.load_demo(conn, utcnow(), settings()["ENROLLMENT_CODE_DAYS"])
    emit(
        {
            "created": created,
            "login": creds and {"email": creds["email"], "password": creds["password"]},
            "patient_id": creds and creds["patient_id"],
        }
    )


def gunicorn_argv(host, port, workers):
    """The gunicorn command line that serves wsgi:app."""
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "--config",
        "python:diary.gunicorn_conf",
        "--bind",
        f"{host}:{port}",
        "--workers",
        str(workers),
        "--graceful-timeout",
        "10",
        "wsgi:app",
    ]


@main.command()
@server_options
def serve(host, port, workers):
    """Serve the API with gunicorn on wsgi:app."""
    servable_settings()
    require_free_port(host, port)
    argv = gunicorn_argv(host, port, workers)
    os.execv(argv[0], argv)


@main.command()
@server_options
def run(host, port, workers):
    """Run the web server and the reminder scheduler together; Ctrl-C stops both."""
    servable_settings()
    require_free_port(host, port)
    conn = open_db()
    creds = demo.demo_credentials(conn)
    conn.close()
    click.echo(
        f"symptom-diary on http://{host}:{port}  (API under /api/v1, clinician pages at /login,"
        " patient app at /app/)"
    )
    if creds:
        click.echo(f"demo clinician: {creds['email']} / {creds['password']}")
        click.echo(f"demo patient id: {creds['patient_id']}")
    children = [
        subprocess.Popen(gunicorn_argv(host, port, workers)),
        subprocess.Popen([sys.executable, "-m", "diary.cli", "scheduler"]),
    ]
    stop = {"now": False}

    def _stop(signum, frame):
        stop["now"] = True

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    try:
        while not stop["now"] and all(c.poll() is None for c in children):
            time.sleep(0.5)
    finally:
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in children:
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()
    sys.exit(0 if stop["now"] else 1)


@main.command("vapid-public-key")
def vapid_public_key():
    """Print the server's VAPID public key for Web Push, creating the key pair on first use."""
    conn = open_db()
    try:
        keys, created = webpush.ensure_keys(conn, utcnow())
    finally:
        conn.close()
    emit({"public_key": keys["public_key"], "created": created, "created_at": keys["created_at"]})


@main.command("backup")
@click.argument("path", type=click.Path(dir_okay=False))
def backup_command(path):
    """Copy the database to a new file PATH, consistently, while the service keeps writing."""
    from diary import backup as backupmod

    try:
        emit(backupmod.backup(settings()["DATABASE"], path))
    except backupmod.BackupError as exc:
        raise click.ClickException(str(exc)) from exc


@main.command("restore")
@click.argument("path", type=click.Path(dir_okay=False))
def restore_command(path):
    """Replace the database with the backup PATH; refuses while a web server or scheduler uses it."""
    from diary import backup as backupmod
    from diary.reminders.process import lock_path

    database = settings()["DATABASE"]
    try:
        emit(backupmod.restore(path, database, lock_path(database)))
    except backupmod.BackupError as exc:
        raise click.ClickException(str(exc)) from exc


if __name__ == "__main__":
    main()
