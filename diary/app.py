"""create_app(): config layers, database, blueprints, the error handler, request hooks."""

from flask import Flask, request
from werkzeug.middleware.proxy_fix import ProxyFix

from diary import auth, cors, logging_setup
from diary import config as configmod
from diary import db as dbmod
from diary.api import API_PREFIX, Api, register_blueprints
from diary.api.blueprint import takes_json_body
from diary.api.spec import ErrorResponses, document_fields
from diary.errors import error_payload
from diary.web import account_pages, pages, patient_app, patient_pages, report_pages  # noqa: F401  (their routes join pages.bp)

ME_PREFIX = API_PREFIX + "/me"
PATIENTS_PREFIX = API_PREFIX + "/patients"


def create_app(overrides=None, environ=None):
    """Build the Flask app from defaults, DIARY_* environment variables and overrides."""
    app = Flask(__name__)
    settings = configmod.load(environ=environ, overrides=overrides)
    configmod.check(settings)
    app.config.update(settings)
    app.config.update(
        API_TITLE="symptom-diary",
        API_VERSION="v1",
        OPENAPI_VERSION="3.1.0",
        OPENAPI_URL_PREFIX="/api/v1",
        OPENAPI_JSON_PATH="openapi.json",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=bool(settings["PRODUCTION"]),
        JSON_SORT_KEYS=False,
        # Flask-WTF's CSRF token lives as long as the session (which has its own idle limit).
        WTF_CSRF_TIME_LIMIT=None,
    )
    app.json.sort_keys = False
    logging_setup.configure(settings["LOG_LEVEL"])

    api = Api(
        app,
        spec_kwargs={
            "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
            # Every operation needs a bearer token unless it says security: [] (login, enroll).
            "security": [{"bearer": []}],
            # Relative: the API is wherever this document was fetched from.
            "servers": [{"url": "/", "description": "This server (the document's own origin)"}],
            "extra_plugins": [ErrorResponses()],
        },
    )
    document_fields(api)
    register_blueprints(api)
    app.register_blueprint(pages.bp)
    app.register_blueprint(patient_app.bp)
    if settings["TRUSTED_PROXIES"]:
        # Only behind that many proxies may X-Forwarded-For name the client
        # (rate limits and the audit log key on request.remote_addr).
        n = settings["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n)
    _register_hooks(app)
    return app


def _register_hooks(app):
    # First hook: the request line's duration covers the auth check too.
    app.before_request(logging_setup.start_request)
    # Before the token check, so a listed origin's preflight is answered.
    cors.register(app)

    @app.before_request
    def token_before_anything():
        # Patient data routes check the token before the body is parsed, so a
        # caller without the right token gets 401 (never a validation answer),
        # and a route added later cannot forget the check.
        path = request.path
        if path == ME_PREFIX or path.startswith(ME_PREFIX + "/"):
            auth.require_patient()
        elif path == PATIENTS_PREFIX or path.startswith(PATIENTS_PREFIX + "/"):
            auth.require_clinician()

    @app.before_request
    def json_only_bodies():
        # A body in another content type would be silently ignored by the
        # parser; refuse it instead so the client learns at once. An operation
        # that takes no body ignores whatever comes (and documents no 415).
        if (
            request.path.startswith("/api/")
            and (request.content_length or 0) > 0
            and not request.is_json
            and takes_json_body(app.view_functions.get(request.endpoint))
        ):
            return error_payload(
                415,
                "Send JSON with Content-Type: application/json.",
                {"headers": {"Content-Type": ["Must be application/json."]}},
            ), 415
        return None

    @app.after_request
    def no_store(response):
        # Patient data must not sit in shared or browser caches.
        response.headers.setdefault("Cache-Control", "no-store")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        # JSON is never a page: nothing may load from it or frame it (pages set their own CSP).
        response.headers.setdefault("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
        return response

    # One line per request: route template, status, duration, actor ids; no bodies.
    app.after_request(logging_setup.log_request)

    @app.teardown_appcontext
    def rollback_leftovers(exc):
        # Whatever happened: the catch-all error handler answers every error, so Flask
        # passes exc=None even when a failed view left its transaction open.
        if dbmod.rollback_leftover(app.config["DATABASE"]):
            app.logger.warning("rolled back a transaction a failed request left open")

    @app.get("/healthz")
    def healthz():
        dbmod.get_conn(app.config["DATABASE"]).execute("SELECT 1").fetchone()
        return {"status": "ok"}
