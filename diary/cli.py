"""The `diary` command group. Commands that create something print one JSON object."""

import json
import os
import signal
import subprocess
import sys
import time

import click
from marshmallow import ValidationError, validate

from diary import config as configmod
from diary import db as dbmod
from diary import demo, people
from diary.clock import utcnow
from diary.schemas.common import SingleLine


def settings():
    """The effective settings (defaults, then DIARY_* environment variables)."""
    return configmod.load()


def servable_settings():
    """The settings, or exit 1 with the reason when they are unsafe to serve with."""
    config = settings()
    try:
        configmod.check(config)
    except configmod.ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    return config


def open_db():
    """A migrated connection to the configured database."""
    path = settings()["DATABASE"]
    dbmod.migrate(path)
    return dbmod.connect(path)


def emit(obj):
    """Print one JSON object on stdout."""
    click.echo(json.dumps(obj, sort_keys=False))


def one_line(ctx, param, value):
    """Click callback: the value as a single-line text field of the API would take it (no controls)."""
    try:
        return SingleLine(validate=validate.Length(min=1, max=254)).deserialize(value)
    except ValidationError as exc:
        raise click.BadParameter(" ".join(exc.messages)) from exc


@click.group()
def main():
    """symptom-diary service commands."""


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
def create_clinician(clinic_id, email, name):
    """Create a clinician; the password comes from stdin (or a prompt on a terminal)."""
    if sys.stdin.isatty():
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    conn = open_db()
    try:
        with dbmod.write(conn):
            clinician = people.create_clinician(conn, clinic_id, email, name, password, utcnow())
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
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=int)
def serve(host, port, workers):
    """Serve the API with gunicorn on wsgi:app."""
    servable_settings()
    argv = gunicorn_argv(host, port, workers)
    os.execv(argv[0], argv)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=int)
def run(host, port, workers):
    """Run the web server and the reminder scheduler together; Ctrl-C stops both."""
    servable_settings()
    conn = open_db()
    creds = demo.demo_credentials(conn)
    conn.close()
    click.echo(f"symptom-diary on http://{host}:{port}  (API under /api/v1, clinician pages at /login)")
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


from diary.reminders.cli import reminders as _reminders  # noqa: E402
from diary.reminders.cli import scheduler as _scheduler  # noqa: E402

main.add_command(_reminders)
main.add_command(_scheduler)

from diary.reports.cli import audit as _audit  # noqa: E402
from diary.reports.cli import snapshot_due as _snapshot_due  # noqa: E402

main.add_command(_audit)
main.add_command(_snapshot_due)


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
