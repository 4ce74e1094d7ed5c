"""The `diary` command line: every command is documented, and a busy port is one clear line."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import click
import pytest

from diary.cli import main

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"


def commands(group, prefix=("diary",)):
    """(words, command) of every command and subcommand under a click group."""
    for name, command in sorted(group.commands.items()):
        words = (*prefix, name)
        yield words, command
        if isinstance(command, click.Group):
            yield from commands(command, words)


def test_every_command_is_in_the_readme_with_help_text():
    text = README.read_text(encoding="utf-8")
    table = text[text.index("## Command line") :]
    found = list(commands(main))
    assert len(found) >= 14
    missing = [" ".join(words) for words, _ in found if f"`{' '.join(words)}" not in table]
    assert missing == [], f"README's Command line section does not name: {missing}"
    silent = [" ".join(words) for words, command in found if not (command.help or "").strip()]
    assert silent == [], f"commands without help text: {silent}"


def test_the_commands_are_found_by_walking_the_group():
    # The walk above must see subcommands, or a missing `diary reminders tick` would pass.
    names = {" ".join(words) for words, _ in commands(main)}
    assert {"diary reminders tick", "diary reminders preview", "diary run", "diary serve"} <= names


@pytest.fixture
def busy_port():
    """A port another program is listening on."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        yield taken.getsockname()[1]


@pytest.mark.parametrize("command", ["run", "serve"])
def test_a_busy_port_is_one_clear_line_naming_port(tmp_path, busy_port, command):
    env = dict(os.environ, DIARY_DATABASE=str(tmp_path / "diary.sqlite3"))
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "diary.cli", command, "--port", str(busy_port)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    # gunicorn alone retries the bind for about 5 s, logging each try, then fails.
    assert time.monotonic() - started < 5
    assert done.returncode == 1
    lines = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert f"port {busy_port} on 127.0.0.1 is already in use" in lines[0]
    assert "make run PORT=" in lines[0]


def test_make_run_names_port_when_busy(tmp_path, busy_port):
    env = dict(os.environ, DIARY_DATABASE=str(tmp_path / "diary.sqlite3"))
    done = subprocess.run(
        ["make", "--no-print-directory", "run", f"PORT={busy_port}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0
    assert f"Error: port {busy_port} on 127.0.0.1 is already in use" in done.stderr
    assert "Connection in use" not in done.stderr + done.stdout  # gunicorn's retry loop never started
