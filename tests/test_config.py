"""Settings: defaults, DIARY_* overrides, and every key documented in the README."""

import os

from diary import config

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_every_setting_is_documented_in_readme():
    readme = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
    missing = [k for k in config.default_keys() if f"`DIARY_{k}`" not in readme]
    assert missing == []


def test_environment_overrides_defaults_with_types():
    settings = config.load(
        environ={
            "DIARY_DATABASE": "/x/y.sqlite3",
            "DIARY_REMINDER_GRACE_MINUTES": "45",
            "DIARY_PRODUCTION": "true",
        }
    )
    assert settings["DATABASE"] == "/x/y.sqlite3"
    assert settings["REMINDER_GRACE_MINUTES"] == 45
    assert settings["PRODUCTION"] is True
    assert config.load(environ={})["PRODUCTION"] is False


def test_explicit_overrides_win_over_environment():
    settings = config.load(
        environ={"DIARY_DATABASE": "env.sqlite3"}, overrides={"DATABASE": "explicit.sqlite3"}
    )
    assert settings["DATABASE"] == "explicit.sqlite3"
