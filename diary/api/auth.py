"""Clinician login and logout; device enrollment."""

from flask import current_app
from flask_smorest import Blueprint

from diary import auth, people
from diary.clock import utcnow
from diary.db import write
from diary.errors import abort
from diary.schemas.people import EnrollIn, EnrollOut, LoginIn, LoginOut

blp = Blueprint("auth", __name__, description="Clinician sessions and device enrollment")


@blp.post("/auth/login")
@blp.arguments(LoginIn())
@blp.response(200, LoginOut)
def login(body):
    """Log a clinician in; returns a bearer token."""
    conn = auth.app_conn()
    with write(conn):
        result = people.login(conn, body["email"].strip(), body["password"], utcnow(),
                              current_app.config["CLINICIAN_TOKEN_HOURS"])
    if result is None:
        abort(401, "Email or password is wrong.")
    return result


@blp.post("/auth/logout")
@blp.response(204)
@blp.doc(security=[{"bearer": []}])
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
def enroll(body):
    """Exchange a one-time enrollment code for a device token."""
    conn = auth.app_conn()
    with write(conn):
        result = people.enroll(conn, body["code"], body["device_name"], utcnow())
    if result is None:
        abort(404, "That enrollment code is not valid, used or expired.",
              errors={"json": {"code": ["Unknown, used or expired code."]}})
    return result
