"""The API's Blueprint: flask-smorest's, with a JSON parser that refuses what we cannot store."""

import json
import re

import flask_smorest
from webargs import core
from webargs.flaskparser import FlaskParser, is_json_request

_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def _has_lone_surrogate(value):
    if isinstance(value, str):
        return any("\ud800" <= ch <= "\udfff" for ch in value)
    if isinstance(value, dict):
        return any(_has_lone_surrogate(k) or _has_lone_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_lone_surrogate(v) for v in value)
    return False


class JsonParser(FlaskParser):
    """webargs' Flask parser that also refuses JSON the standard module accepts but we cannot store."""

    # Query schemas decide for themselves (ours raise): a typo such as ?form= for
    # ?from= must not silently return the default period.
    DEFAULT_UNKNOWN_BY_LOCATION = dict(FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION, query=None, querystring=None)

    def _raw_load_json(self, req):
        if not is_json_request(req):
            return core.missing
        raw = req.get_data(cache=True)
        try:
            value = core.parse_json(raw)
        except json.JSONDecodeError:
            raise
        except ValueError as exc:
            # An integer of more than 4300 digits raises a plain ValueError.
            raise json.JSONDecodeError(str(exc), "body", 0) from exc
        # A lone surrogate escape (\ud800) parses, then fails to encode as UTF-8 in SQLite.
        if _SURROGATE_ESCAPE.search(raw) and _has_lone_surrogate(value):
            raise json.JSONDecodeError("lone surrogate in a string", "body", 0)
        return value


class Blueprint(flask_smorest.Blueprint):
    """Every API blueprint: ``@blp.arguments`` parses with ``JsonParser``."""

    ARGUMENTS_PARSER = JsonParser()


def takes_json_body(view):
    """Whether a view function parses a JSON body with ``@blp.arguments``."""
    arguments = getattr(view, "_apidoc", {}).get("arguments", {})
    return any(p.get("in") == "json" for p in arguments.get("parameters", []))
