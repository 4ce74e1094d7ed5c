"""The JSON API under /api/v1: one flask-smorest blueprint per resource."""

import importlib
import sqlite3

from flask import current_app, g, has_request_context, request
from flask_smorest import Api as SmorestApi
from werkzeug.exceptions import HTTPException, InternalServerError, NotFound

from diary import db
from diary.errors import error_payload
from diary.logging_setup import exception_summary
from diary.schemas.common import ErrorOut
from diary.web.errors import error_page

# Each module exports ``blp``; order is the order in the OpenAPI document.
BLUEPRINT_MODULES = [
    "diary.api.auth",
    "diary.api.patients",
    "diary.api.me",
    "diary.api.questionnaires",
    "diary.api.reports",
    "diary.api.reminders",
]

API_PREFIX = "/api/v1"


class Api(SmorestApi):
    """flask-smorest Api whose every error has the one shape {code, status, message, errors}."""

    ERROR_SCHEMA = ErrorOut

    def handle_http_exception(self, error):
        payload, code, headers = super().handle_http_exception(error)
        errors = payload.get("errors")
        if code == 413 and not errors:
            errors = {"json": [f"The body is larger than {self._app.config['MAX_CONTENT_LENGTH']} bytes."]}
        message = payload.get("message") or _describe(error)
        if not _is_api_request():
            page, code, page_headers = error_page(code, message)
            return page, code, {**dict(headers or {}), **page_headers}
        body = error_payload(code, message, errors)
        return body, code, headers

    def _register_error_handlers(self):
        super()._register_error_handlers()
        self._app.register_error_handler(Exception, self._handle_unexpected)

    def _handle_unexpected(self, error):
        if isinstance(error, HTTPException):
            return self.handle_http_exception(error)
        if _patient_gone(error):
            # The patient was erased while this request was past its token check:
            # the write was refused by a foreign key and nothing was stored.
            self._app.logger.warning("write refused: the patient no longer exists")
            return self.handle_http_exception(NotFound("No such patient."))
        # Type and frames only: an exception's message may echo submitted health data.
        self._app.logger.error("unhandled error: %s", exception_summary(error))
        if not _is_api_request():
            return error_page(500)
        return error_payload(500), 500


def _patient_gone(error):
    """Whether ``error`` is a foreign-key refusal for a patient erased mid-request."""
    if not isinstance(error, sqlite3.IntegrityError) or "FOREIGN KEY" not in str(error):
        return False
    patient = g.get("patient")
    if patient is None:
        return False
    conn = db.get_conn(current_app.config["DATABASE"])
    return conn.execute("SELECT 1 FROM patients WHERE id = ?", (patient["id"],)).fetchone() is None


def _is_api_request():
    # The clinician pages answer errors in HTML; the API (and a request outside any, e.g. a CLI) in JSON.
    return not has_request_context() or request.path.startswith("/api/")


def _describe(error):
    if isinstance(error, InternalServerError):
        return "Internal Server Error"
    return error.description if isinstance(error.description, str) else error.name


def register_blueprints(api):
    """Register every API blueprint on the Api."""
    for name in BLUEPRINT_MODULES:
        module = importlib.import_module(name)
        api.register_blueprint(module.blp, url_prefix=API_PREFIX + getattr(module, "URL_PREFIX", ""))
