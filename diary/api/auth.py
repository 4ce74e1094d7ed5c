"""Clinician login and logout; device enrollment."""

from flask import current_app, request

from diary import auth, people, ratelimit
from diary.api.blueprint import Blueprint
from diary.clock import utcnow
from diary.db import write
from diary.errors import abort
from diary.schemas.common import ErrorOut
from diary.schemas.people import EnrollIn, EnrollOut, LoginIn, LoginOut

blp = Blueprint("auth", __name__, description="Clinician sessions and device enrollment")
RATE_LIMITED = {
    "description": "Too many failed attempts from this account or address; the body is the one error shape",
    "headers": {
        "Retry-After": {
            "description": "Seconds until the next attempt is counted",
            "schema": {"type": "integer", "minimum": 1},
        }
    },
}


@blp.post("/auth/login")
@blp.arguments(LoginIn())
@blp.response(200, LoginOut)
@blp.alt_response(401, schema=ErrorOut, description="Email or password is wrong")
@blp.alt_response(429, schema=ErrorOut, **RATE_LIMITED)
@blp.doc(operationId="login", security=[])
def login(body):
    """Log a clinician in; returns a bearer token."""
    conn = auth.app_conn()
    email, now = body["email"].strip(), utcnow()
    # Counted before the password is checked, so a correct password during a
    # lock-out is refused too and no worker lets an extra guess through.
    with write(conn):
        retry_after, counted = ratelimit.count_attempt(
            conn, ratelimit.login_limits(current_app.config, email, request.remote_addr), now
        )
    if retry_after:
        ratelimit.abort_429(retry_after)
    # scrypt runs outside the write lock: a login must not stall patients' writes.
    clinician = people.check_password(conn, email, body["password"])
    if clinician is None:
        abort(401, "Email or password is wrong.")
    with write(conn):
        ratelimit.uncount(conn, counted)
        ratelimit.clear_account(conn, email)
        return people.issue_clinician_token(
            conn, clinician["id"], now, current_app.config["CLINICIAN_TOKEN_HOURS"]
        )


@blp.post("/auth/logout")
@blp.response(204)
@blp.doc(operationId="logout")
def logout():
    """Revoke the presented token."""
    row = auth.current_token()
    if row is None:
        abort(401, "A valid bearer token is required.")
    conn = auth.app_conn()
    with write(conn):
        people.revoke_token(conn, row["id"], utcnow())


@blp.post("/enroll")
@blp.arguments(EnrollIn())
@blp.response(201, EnrollOut)
@blp.alt_response(404, schema=ErrorOut, description="Unknown, used or expired code")
@blp.alt_response(429, schema=ErrorOut, **RATE_LIMITED)
@blp.doc(operationId="enrollDevice", security=[])
def enroll(body):
    """Exchange a one-time enrollment code for a device token."""
    conn = auth.app_conn()
    now = utcnow()
    with write(conn):
        retry_after, counted = ratelimit.count_attempt(
            conn, ratelimit.enroll_limits(current_app.config, request.remote_addr), now
        )
    if retry_after:
        ratelimit.abort_429(retry_after)
    with write(conn):
        result = people.enroll(conn, body["code"], body["device_name"], now)
        if result is not None:
            ratelimit.uncount(conn, counted)
    if result is None:
        abort(
            404,
            "That enrollment code is not valid, used or expired.",
            errors={"json": {"code": ["Unknown, used or expired code."]}},
        )
    return result
