"""Config layers: config/defaults.py, then DIARY_* environment variables, then explicit overrides."""

import os

from config import defaults

# A session-signing key shorter than this can be guessed offline from one cookie.
MIN_SECRET_BYTES = 32


class ConfigError(RuntimeError):
    """Settings the service refuses to start with; the message says how to fix them."""


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


def check(settings):
    """Raise ConfigError when ``settings`` are unsafe to serve with."""
    secret = settings["SECRET_KEY"]
    if settings["PRODUCTION"] and (
        secret == defaults.SECRET_KEY or len(str(secret).encode("utf-8")) < MIN_SECRET_BYTES
    ):
        raise ConfigError(
            "DIARY_PRODUCTION is true but DIARY_SECRET_KEY is "
            + ("the development default" if secret == defaults.SECRET_KEY else "too short")
            + f"; it must be a random value of at least {MIN_SECRET_BYTES} bytes. Make one with\n"
            "  python3 -c 'import secrets; print(secrets.token_urlsafe(48))'\n"
            "and set it as DIARY_SECRET_KEY in the service's environment (see README, Deploying)."
        )
