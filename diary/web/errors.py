"""HTML error pages for the clinician pages (everything outside /api/ answers in HTML)."""

from http import HTTPStatus

from flask import render_template
from markupsafe import escape

# Shown instead of the exception's text for server errors: it may echo health data.
_SERVER_ERROR = "Something went wrong on our side. The error was logged; please try again."


def error_page(code, message=None):
    """Render a small HTML error page with its status code."""
    status = HTTPStatus(code).phrase
    message = _SERVER_ERROR if code >= 500 else (message or status)
    try:
        html = render_template("error.html", code=code, status=status, message=message, clinician=None)
    except Exception:
        html = (
            f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{code} {status}</title>'
            f"</head><body><h1>{code} {status}</h1><p>{escape(message)}</p></body></html>"
        )
    return html, code, {"Content-Type": "text/html; charset=utf-8"}
