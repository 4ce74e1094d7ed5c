"""OpenAPI document: the error responses every operation can give, by rule, in the one error shape."""

from http import HTTPStatus

from apispec import BasePlugin

BODY_METHODS = {"post", "put", "patch"}


class ErrorResponses(BasePlugin):
    """Document the refusals the request hooks and the parser give, so no status hides behind ``default``.

    - a bearer route: 401 (no, a wrong, an expired, an idle or a revoked token);
    - a path with parameters: 404 (no such resource, or another clinic's patient);
    - a method that takes a body: 415 (not JSON); with a documented body also
      400 (malformed JSON), 413 (larger than MAX_CONTENT_LENGTH) and 422.

    Each refers to flask-smorest's per-status response, whose schema is the one
    error shape ``{code, status, message, errors}``.
    """

    def operation_helper(self, path=None, operations=None, **kwargs):
        for method, operation in (operations or {}).items():
            if not isinstance(operation, dict):
                continue
            responses = operation.setdefault("responses", {})

            def add(code, responses=responses):
                # flask-smorest registers one lazy response per status, named after it.
                if str(code) not in {str(k) for k in responses}:
                    responses[code] = HTTPStatus(code).name

            if operation.get("security"):
                add(401)
            if path and "{" in path:
                add(404)
            if method in BODY_METHODS:
                add(415)
            if "requestBody" in operation:
                add(400)
                add(413)
                add(422)
