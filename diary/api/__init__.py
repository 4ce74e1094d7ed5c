"""The JSON API under /api/v1: one flask-smorest blueprint per resource."""

import importlib

from flask_smorest import Api as SmorestApi
from werkzeug.exceptions import HTTPException, InternalServerError

from diary.errors import error_payload

# Each module exports ``blp``; order is the order in the OpenAPI document.
BLUEPRINT_MODULES = [
    "diary.api.auth",
    "diary.api.patients",
    "diary.api.me",
]

API_PREFIX = "/api/v1"


class Api(SmorestApi):
    """flask-smorest Api whose every error has the one shape {code, status, message, errors}."""

    def handle_http_exception(self, error):
        payload, code, headers = super().handle_http_exception(error)
        body = error_payload(code, payload.get("message") or _describe(error), payload.get("errors"))
        return body, code, headers

    def _register_error_handlers(self):
        super()._register_error_handlers()
        self._app.register_error_handler(Exception, self._handle_unexpected)

    def _handle_unexpected(self, error):
        if isinstance(error, HTTPException):
            return self.handle_http_exception(error)
        self._app.logger.exception("unhandled error")
        return error_payload(500), 500


def _describe(error):
    if isinstance(error, InternalServerError):
        return "Internal Server Error"
    return error.description if isinstance(error.description, str) else error.name


def register_blueprints(app, api):
    """Register every API blueprint on the app."""
    for name in BLUEPRINT_MODULES:
        module = importlib.import_module(name)
        api.register_blueprint(module.blp, url_prefix=API_PREFIX + getattr(module, "URL_PREFIX", ""))
    for name in WEB_MODULES:
        module = importlib.import_module(name)
        app.register_blueprint(module.bp)


# Server-rendered clinician pages (plain Flask blueprints exporting ``bp``).
WEB_MODULES = []
