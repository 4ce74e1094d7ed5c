"""The OpenAPI document: field types, the error responses by rule, the one error shape."""

import json
from http import HTTPStatus

from apispec import BasePlugin

from diary.schemas.common import ClientUUID, DateText, DoseMg, Either, InstantText, Note, SingleLine

# How our own marshmallow fields appear in the document.
FIELD_TYPES = [
    (DateText, "string", "date"),
    (InstantText, "string", "date-time"),
    (ClientUUID, "string", "uuid"),
    (DoseMg, "number", None),
]


def document_fields(api):
    """Teach the document our field types, ``Either`` as ``oneOf``, and defaults said in words."""
    for field, *mapping in FIELD_TYPES:
        api.register_field(field, *mapping)
    converter = api.ma_plugin.converter
    converter.add_attribute_function(_either_as_one_of)
    converter.add_attribute_function(_default_in_words)
    converter.add_attribute_function(_nullable_enum)
    converter.add_attribute_function(_text_pattern)


def _either_as_one_of(self, field, **kwargs):
    if not isinstance(field, Either):
        return {}
    return {"oneOf": [self.field2property(alternative) for alternative in field.alternatives]}


def _text_pattern(self, field, ret, **kwargs):
    # SingleLine and Note are strings that refuse control characters and direction
    # overrides: the document says which, so a client can check before it sends.
    # (StrictInteger needs nothing here: it is an Integer with minimum/maximum metadata.)
    if not isinstance(field, (SingleLine, Note)) or "pattern" in ret:
        return {}
    return {"pattern": field.PATTERN}


def _default_in_words(self, field, ret, **kwargs):
    # A schema "default" tells openapi-typescript the key is always there, so it makes an
    # optional request key required ("default: null" even more so). Our defaults belong to
    # request bodies and queries only: say them in the description instead.
    if "default" not in ret:
        return {}
    default = ret.pop("default")
    if default is None:
        return {}
    said = f"Default: {json.dumps(default)}."
    return {"description": f"{ret['description']} {said}" if ret.get("description") else said}


def _nullable_enum(self, field, ret, **kwargs):
    # apispec writes a nullable enum as type [string, null] with null among the values;
    # generators then make one enum class per reading of it. Say "this enum, or null".
    types = ret.get("type")
    if "enum" not in ret or not isinstance(types, list) or "null" not in types:
        return {}
    values = [v for v in ret.pop("enum") if v is not None]
    (kind,) = [t for t in ret.pop("type") if t != "null"]
    ret["anyOf"] = [{"type": kind, "enum": values}, {"type": "null"}]
    return {}


class ErrorResponses(BasePlugin):
    """Document the refusals the request hooks and the parser give, so no status hides behind ``default``.

    - a bearer route (the document's default security): 401 (no, a wrong, an
      expired, an idle or a revoked token);
    - a path with parameters: 404 (no such resource, or another clinic's patient);
    - an operation with a JSON body: 400 (malformed JSON), 413 (larger than
      MAX_CONTENT_LENGTH), 415 (not JSON) and 422.

    Each refers to flask-smorest's per-status response, whose schema is the one
    error shape ``{code, status, message, errors}``.
    """

    def operation_helper(self, path=None, operations=None, **kwargs):
        for operation in (operations or {}).values():
            if not isinstance(operation, dict):
                continue
            responses = operation.setdefault("responses", {})

            def add(code, responses=responses):
                # flask-smorest registers one lazy response per status, named after it.
                if str(code) not in {str(k) for k in responses}:
                    responses[code] = HTTPStatus(code).name

            # Public operations say security: []; the rest inherit the bearer default.
            if operation.get("security") != []:
                add(401)
            if path and "{" in path:
                add(404)
            if "requestBody" in operation:
                add(400)
                add(413)
                add(415)
                add(422)
