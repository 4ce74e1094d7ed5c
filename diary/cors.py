"""CORS for the JSON API: off unless CORS_ORIGINS lists origins; then only those, and only under /api/.

Callers authenticate with a bearer header, never a cookie, so no
Access-Control-Allow-Credentials is sent and the clinician pages stay
same-origin only.
"""

from flask import request

ALLOWED_HEADERS = "Authorization, Content-Type"
ALLOWED_METHODS = "GET, POST, PUT, PATCH, DELETE"
PREFLIGHT_MAX_AGE = "600"


def allowed_origins(setting):
    """The origins of a comma-separated CORS_ORIGINS setting (scheme://host[:port], no trailing slash)."""
    return frozenset(o.strip().rstrip("/") for o in (setting or "").split(",") if o.strip())


def _listed_origin(origins):
    origin = request.headers.get("Origin")
    if not origin or not request.path.startswith("/api/"):
        return None
    return origin if origin in origins else None


def register(app):
    """Answer preflights and mark responses for listed origins; adds no hook when none are listed."""
    origins = allowed_origins(app.config["CORS_ORIGINS"])
    if not origins:
        return

    @app.before_request
    def cors_preflight():
        # Before the token check: a browser's preflight never carries the token.
        if request.method != "OPTIONS" or "Access-Control-Request-Method" not in request.headers:
            return None
        origin = _listed_origin(origins)
        if origin is None:
            return None
        return (
            "",
            204,
            {
                "Access-Control-Allow-Origin": origin,
                "Vary": "Origin",
                "Access-Control-Allow-Methods": ALLOWED_METHODS,
                "Access-Control-Allow-Headers": ALLOWED_HEADERS,
                "Access-Control-Max-Age": PREFLIGHT_MAX_AGE,
            },
        )

    @app.after_request
    def cors_headers(response):
        origin = _listed_origin(origins)
        if origin is not None:
            response.headers["Access-Control-Allow-Origin"] = origin
            response.vary.add("Origin")
        return response
