"""DIARY_PRODUCTION=true with the default or a short secret key refuses to start, saying how to set one:
through create_app, `diary serve`, `diary run` and plain `gunicorn wsgi:app`."""

import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from config import defaults
from diary import create_app
from diary.cli import main
from diary.config import ConfigError

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
GOOD_SECRET = "k" * 32
BAD_SECRETS = [defaults.SECRET_KEY, "", "short", "x" * 31, "é" * 15]  # "é" * 15 is 30 bytes


@pytest.mark.parametrize("secret", BAD_SECRETS)
def test_create_app_refuses_a_weak_secret_in_production(tmp_path, secret):
    with pytest.raises(ConfigError, match="DIARY_SECRET_KEY") as caught:
        create_app({"DATABASE": str(tmp_path / "d.sqlite3"), "PRODUCTION": True, "SECRET_KEY": secret})
    assert "secrets.token_urlsafe" in str(caught.value)  # says how to make one


def test_a_long_secret_starts_and_development_needs_none(tmp_path):
    create_app({"DATABASE": str(tmp_path / "d.sqlite3"), "PRODUCTION": True, "SECRET_KEY": GOOD_SECRET})
    create_app({"DATABASE": str(tmp_path / "d.sqlite3"), "PRODUCTION": False})


@pytest.mark.parametrize("command", ["serve", "run"])
def test_diary_serve_and_run_refuse_before_starting_anything(tmp_path, command):
    env = {
        "DIARY_DATABASE": str(tmp_path / "d.sqlite3"),
        "DIARY_PRODUCTION": "true",
        "DIARY_SECRET_KEY": "short",
    }
    result = CliRunner(env=env).invoke(main, [command, "--port", "1"])
    assert result.exit_code == 1
    assert "DIARY_SECRET_KEY" in result.output and "at least 32 bytes" in result.output
    assert not os.path.exists(tmp_path / "d.sqlite3")  # refused before migrating or serving


@pytest.mark.slow
def test_plain_gunicorn_refuses_too(tmp_path):
    env = dict(
        os.environ,
        DIARY_DATABASE=str(tmp_path / "d.sqlite3"),
        DIARY_PRODUCTION="true",
        DIARY_SECRET_KEY=defaults.SECRET_KEY,
    )
    proc = subprocess.run(
        [sys.executable, "-m", "gunicorn", "--bind", "127.0.0.1:0", "--no-control-socket", "wsgi:app"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode != 0
    assert "DIARY_SECRET_KEY" in proc.stderr
