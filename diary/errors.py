"""The one error shape: ``{code, status, message, errors}``."""

from http import HTTPStatus
from typing import Any, NoReturn

from flask_smorest import abort as _smorest_abort


def abort(
    status: int,
    message: str | None = None,
    errors: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> NoReturn:
    """Stop the request with a JSON error in the one shape."""
    kwargs = {"message": message or HTTPStatus(status).phrase, "errors": errors or {}}
    if headers:
        kwargs["headers"] = headers
    _smorest_abort(status, **kwargs)
    raise AssertionError("flask_smorest.abort returned")  # it always raises


def error_payload(code, message=None, errors=None):
    """Build an error body for a status code."""
    return {
        "code": code,
        "status": HTTPStatus(code).phrase,
        "message": message or HTTPStatus(code).phrase,
        "errors": errors or {},
    }
