"""The shipped systemd units start real `diary` commands with real options, private files, the
proxy's settings, and pass `systemd-analyze verify` where it is installed."""

import os
import re
import shlex
import shutil
import subprocess
import sys

import pytest

from config import defaults
from diary import config as configmod
from diary.cli import main
from tests.reliability.harness import ROOT

UNITS = os.path.join(ROOT, "config", "systemd")
WEB, SCHEDULER = "diary-web.service", "diary-scheduler.service"


def unit(name):
    """{section: {key: [values]}} of a unit file (a key may repeat)."""
    sections, current = {}, None
    with open(os.path.join(UNITS, name), encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith("["):
                current = sections.setdefault(line.strip("[]"), {})
            else:
                key, _, value = line.partition("=")
                current.setdefault(key, []).append(value)
    return sections


def _diary_command(command_line):
    argv = shlex.split(command_line)
    assert argv[0].endswith("/.venv/bin/diary"), argv
    command = main
    args = argv[1:]
    while hasattr(command, "commands") and args and args[0] in command.commands:
        command, args = command.commands[args[0]], args[1:]
    options = {opt for param in command.params for opt in param.opts}
    given = [a for a in args if a.startswith("--")]
    assert set(given) <= options, f"{command_line}: unknown options {set(given) - options}"
    return command.name, dict(zip(args[::2], args[1::2]))


def test_the_units_run_real_diary_commands():
    web, scheduler = unit(WEB)["Service"], unit(SCHEDULER)["Service"]
    assert _diary_command(web["ExecStartPre"][0])[0] == "migrate"
    name, options = _diary_command(web["ExecStart"][0])
    assert name == "serve"
    assert options["--host"] == "127.0.0.1"  # only nginx may reach gunicorn
    with open(os.path.join(ROOT, "config", "nginx.conf"), encoding="utf-8") as f:
        assert f"server 127.0.0.1:{options['--port']};" in f.read()
    assert _diary_command(scheduler["ExecStart"][0])[0] == "scheduler"
    for service in (web, scheduler):
        assert service["User"] == ["diary"] and service["UMask"] == ["0077"]
        assert service["StateDirectory"] == ["diary"] and service["StateDirectoryMode"] == ["0700"]
        assert service["EnvironmentFile"] == web["EnvironmentFile"]
        assert service["KillSignal"] == ["SIGTERM"]
    assert scheduler["RestartPreventExitStatus"] == ["1"]  # a second scheduler does not fight the first


def test_the_environment_example_names_real_settings_for_the_proxy():
    path = os.path.join(UNITS, "diary.env.example")
    values = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip() and not line.startswith("#"):
                key, _, value = line.strip().partition("=")
                values[key] = value
    known = {"DIARY_" + k for k in configmod.default_keys()}
    assert set(values) <= known, set(values) - known
    assert values["DIARY_PRODUCTION"] == "true"
    assert values["DIARY_TRUSTED_PROXIES"] == "1"
    assert values["DIARY_SECRET_KEY"] == ""  # to be filled in; the service refuses to start without it
    assert values["DIARY_DATABASE"].startswith("/var/lib/diary/")
    assert int(values["DIARY_MAX_CONTENT_LENGTH"]) == defaults.MAX_CONTENT_LENGTH


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_accepts_the_units(tmp_path):
    venv_bin = os.path.dirname(sys.executable)
    for name in (WEB, SCHEDULER):
        with open(os.path.join(UNITS, name), encoding="utf-8") as f:
            text = f.read()
        # Where this checkout and its virtualenv are, so verify finds the commands it checks.
        text = re.sub(r"/srv/diary/\.venv/bin", venv_bin, text).replace("/srv/diary", ROOT)
        (tmp_path / name).write_text(text, encoding="utf-8")
    result = subprocess.run(
        ["systemd-analyze", "verify", str(tmp_path / WEB), str(tmp_path / SCHEDULER)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0 and result.stdout + result.stderr == "", result.stdout + result.stderr
