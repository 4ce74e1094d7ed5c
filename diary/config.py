"""Config layers: config/defaults.py, then DIARY_* environment variables, then explicit overrides."""

import os

from config import defaults


def default_keys():
    """Names of every documented setting."""
    return [k for k in vars(defaults) if k.isupper()]


def _coerce(default, raw):
    if isinstance(default, bool):
        return raw.strip().lower() in ("1", "true", "yes", "on")
    if isinstance(default, int):
        return int(raw)
    return raw


def load(environ=None, overrides=None):
    """Return the settings dict for ``environ`` (default os.environ) and overrides."""
    environ = os.environ if environ is None else environ
    settings = {}
    for key in default_keys():
        value = getattr(defaults, key)
        raw = environ.get("DIARY_" + key)
        if raw is not None:
            value = _coerce(value, raw)
        settings[key] = value
    settings.update(overrides or {})
    return settings
