"""The API's Blueprint: flask-smorest's, with a JSON parser that refuses what we cannot store."""

import json
import re

import flask_smorest
from webargs import core
from webargs.flaskparser import FlaskParser, is_json_request

from diary.errors import abort

_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
# Our deepest body (a sync batch: object > list > entry > side effects > effect) is 5 levels;
# deeper JSON is refused before anything recursive (marshmallow, our own checks) walks it.
MAX_JSON_DEPTH = 32


class InvalidJson(ValueError):
    """A body that is not JSON we accept; the message says why without echoing it."""


def _refuse_constant(name):
    # Python's json reads NaN and Infinity; JSON (RFC 8259) has no such values.
    raise InvalidJson(f"{name} is not a JSON value.")


def _deeper_than(value, limit):
    """Whether parsed JSON nests deeper than ``limit`` (level by level, containers only)."""
    level = [value] if isinstance(value, (dict, list)) else []
    depth = 0
    while level:
        depth += 1
        if depth > limit:
            return True
        level = [
            child
            for item in level
            for child in (item.values() if isinstance(item, dict) else item)
            if isinstance(child, (dict, list))
        ]
    return False


def _has_lone_surrogate(value):
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str) and any("\ud800" <= ch <= "\udfff" for ch in item):
            return True
    return False


def parse_body(raw):
    """Parse a request body as JSON we can store; raise InvalidJson saying why not."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidJson("The body is not UTF-8.") from exc
    try:
        value = json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        raise InvalidJson(f"{exc.msg} at line {exc.lineno} column {exc.colno}.") from exc
    except RecursionError as exc:
        raise InvalidJson(f"Nested deeper than {MAX_JSON_DEPTH} levels.") from exc
    except InvalidJson:
        raise
    except ValueError as exc:
        # An integer of more than 4300 digits raises a plain ValueError.
        raise InvalidJson("A number is too long.") from exc
    if raw.count(b"[") + raw.count(b"{") > MAX_JSON_DEPTH and _deeper_than(value, MAX_JSON_DEPTH):
        raise InvalidJson(f"Nested deeper than {MAX_JSON_DEPTH} levels.")
    # A lone surrogate escape (\ud800) parses, then fails to encode as UTF-8 in SQLite.
    if _SURROGATE_ESCAPE.search(raw) and _has_lone_surrogate(value):
        raise InvalidJson("A string holds a lone surrogate escape.")
    return value


class JsonParser(FlaskParser):
    """webargs' Flask parser: every body that is not JSON we accept is one 400 in the error shape."""

    # Query schemas decide for themselves (ours raise): a typo such as ?form= for
    # ?from= must not silently return the default period.
    DEFAULT_UNKNOWN_BY_LOCATION = dict(FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION, query=None, querystring=None)

    def load_json(self, req, schema):
        if not is_json_request(req):
            return core.missing
        raw = req.get_data(cache=True)
        if not raw:
            return core.missing
        try:
            return parse_body(raw)
        except InvalidJson as exc:
            abort(400, "The body is not valid JSON.", {"json": [str(exc)]})


class Blueprint(flask_smorest.Blueprint):
    """Every API blueprint: ``@blp.arguments`` parses with ``JsonParser``."""

    ARGUMENTS_PARSER = JsonParser()


def takes_json_body(view):
    """Whether a view function parses a JSON body with ``@blp.arguments``."""
    arguments = getattr(view, "_apidoc", {}).get("arguments", {})
    return any(p.get("in") == "json" for p in arguments.get("parameters", []))
