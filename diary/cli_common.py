"""What every `diary` command shares: settings, the database, JSON output, instants and server options."""

import errno
import functools
import json
import socket
from datetime import datetime

import click
from marshmallow import ValidationError, validate

from diary import config as configmod
from diary import db as dbmod
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


def aware_instant(text):
    """Parse an ISO-8601 instant with an offset given on the command line; BadParameter otherwise."""
    try:
        instant = datetime.fromisoformat(text)
    except ValueError as exc:
        raise click.BadParameter("use ISO-8601 with an offset, e.g. 2026-03-08T07:30:00+00:00") from exc
    if instant.tzinfo is None:
        raise click.BadParameter("give a time zone offset, e.g. 2026-03-08T07:30:00+00:00")
    return instant


def server_options(command):
    """Add the web server's --host, --port and --workers options to a command."""

    @click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
    @click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535), help="TCP port.")
    @click.option(
        "--workers", default=2, show_default=True, type=click.IntRange(1, 64), help="gunicorn workers."
    )
    @functools.wraps(command)
    def wrapper(**kwargs):
        return command(**kwargs)

    return wrapper


def require_free_port(host, port):
    """Stop with one clear line when ``host:port`` is taken (gunicorn would retry for seconds, then fail)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        # As gunicorn binds: a port left in TIME_WAIT by a stopped server is free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror}") from exc
            raise click.ClickException(
                f"port {port} on {host} is already in use; pick another, e.g. make run PORT={port + 111} "
                f"(or --port {port + 111})"
            ) from exc
