"""Clinics, clinicians, patients, enrollment, device tokens and regimens."""

import json
import uuid
from datetime import timedelta

from diary import auth
from diary.clock import parse_utc_text, to_utc_text
from diary.db import write
from diary.reminders import schedule


def create_clinic(conn, name, now):
    """Create a clinic; return its row as a dict."""
    cur = conn.execute("INSERT INTO clinics (name, created_at) VALUES (?, ?)", (name, to_utc_text(now)))
    return {"id": cur.lastrowid, "name": name}


def create_clinician(conn, clinic_id, email, name, password, now, admin=False):
    """Create a clinician with a hashed password; ValueError on a bad clinic, email or password."""
    if len(password) < auth.MIN_PASSWORD_LENGTH:
        raise ValueError(f"password must be at least {auth.MIN_PASSWORD_LENGTH} characters")
    if "@" not in email:
        raise ValueError("email must contain @")
    if conn.execute("SELECT 1 FROM clinics WHERE id = ?", (clinic_id,)).fetchone() is None:
        raise ValueError(f"no clinic with id {clinic_id}")
    if conn.execute("SELECT 1 FROM clinicians WHERE email = ?", (email,)).fetchone():
        raise ValueError("a clinician with that email exists")
    cur = conn.execute(
        "INSERT INTO clinicians (clinic_id, email, name, password_hash, created_at, is_admin) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (clinic_id, email, name, auth.hash_password(password), to_utc_text(now), int(admin)),
    )
    return {"id": cur.lastrowid, "clinic_id": clinic_id, "email": email, "name": name, "admin": admin}


def check_password(conn, email, password):
    """Return the clinician whose email and password match, else None (in the same time either way).

    Call it outside a write transaction: scrypt takes about 0.3 s by design.
    """
    row = conn.execute(
        "SELECT * FROM clinicians WHERE email = ? AND deactivated_at IS NULL", (email,)
    ).fetchone()
    if row is None:
        auth.dummy_verify(password)
        return None
    return dict(row) if auth.verify_password(password, row["password_hash"]) else None


def issue_clinician_token(conn, clinician_id, now, hours):
    """Issue a clinician API token that expires ``hours`` after ``now``."""
    token, token_hash = auth.new_token()
    expires = now + timedelta(hours=hours)
    conn.execute(
        "INSERT INTO tokens (token_hash, kind, clinician_id, created_at, expires_at, last_used_at) "
        "VALUES (?, 'clinician', ?, ?, ?, ?)",
        (token_hash, clinician_id, to_utc_text(now), to_utc_text(expires), to_utc_text(now)),
    )
    return {"token": token, "expires_at": to_utc_text(expires), "clinician_id": clinician_id}


def revoke_token(conn, token_id, now):
    """Revoke a token by its row id."""
    conn.execute(
        "UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", (to_utc_text(now), token_id)
    )


def get_clinic_patient(conn, clinic_id, patient_id):
    """The patient row (a dict) when it belongs to the clinic, else None."""
    row = conn.execute(
        "SELECT * FROM patients WHERE id = ? AND clinic_id = ?", (patient_id, clinic_id)
    ).fetchone()
    return None if row is None else dict(row)


def list_clinic_patients(conn, clinic_id):
    """The clinic's patient rows, by name."""
    return conn.execute(
        "SELECT * FROM patients WHERE clinic_id = ? ORDER BY display_name, id", (clinic_id,)
    ).fetchall()


def set_reminder_detail(conn, patient_id, detail):
    """Set whether the patient's reminder texts may name the planned dose."""
    conn.execute("UPDATE patients SET reminder_detail = ? WHERE id = ?", (int(detail), patient_id))


def patient_out(row):
    """Render a patient row for the API."""
    return {
        "id": row["id"],
        "display_name": row["display_name"],
        "timezone": row["timezone"],
        "external_ref": row["external_ref"],
        "created_at": row["created_at"],
    }


def create_patient(conn, clinic_id, data, now, code_days):
    """Create a patient of a clinic with a first enrollment code."""
    patient_id = str(uuid.uuid4())
    conn.execute(
        "INSERT INTO patients (id, clinic_id, display_name, timezone, external_ref, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (
            patient_id,
            clinic_id,
            data["display_name"],
            data["timezone"],
            data.get("external_ref"),
            to_utc_text(now),
        ),
    )
    out = patient_out(conn.execute("SELECT * FROM patients WHERE id = ?", (patient_id,)).fetchone())
    out.update(new_enrollment_code(conn, patient_id, now, code_days))
    return out


def new_enrollment_code(conn, patient_id, now, days):
    """Issue a fresh single-use enrollment code; any older code stops working."""
    code = auth.new_enrollment_code()
    expires = now + timedelta(days=days)
    conn.execute(
        "INSERT INTO enrollment_codes (patient_id, code_hash, expires_at, used_at) VALUES (?, ?, ?, NULL) "
        "ON CONFLICT (patient_id) DO UPDATE SET code_hash = excluded.code_hash, "
        "expires_at = excluded.expires_at, used_at = NULL",
        (patient_id, auth.code_hash(code), to_utc_text(expires)),
    )
    return {"enrollment_code": code, "enrollment_expires_at": to_utc_text(expires)}


def enroll(conn, code, device_name, now):
    """Exchange a live enrollment code for a device token; None when the code is not usable."""
    row = conn.execute(
        "SELECT e.*, p.timezone FROM enrollment_codes e JOIN patients p ON p.id = e.patient_id "
        "WHERE e.code_hash = ?",
        (auth.code_hash(code),),
    ).fetchone()
    if row is None or row["used_at"] is not None or parse_utc_text(row["expires_at"]) <= now:
        return None
    conn.execute(
        "UPDATE enrollment_codes SET used_at = ? WHERE patient_id = ?", (to_utc_text(now), row["patient_id"])
    )
    token, token_hash = auth.new_token()
    conn.execute(
        "INSERT INTO tokens (token_hash, kind, patient_id, device_name, created_at, last_used_at) "
        "VALUES (?, 'patient', ?, ?, ?, ?)",
        (token_hash, row["patient_id"], device_name, to_utc_text(now), to_utc_text(now)),
    )
    return {"token": token, "patient_id": row["patient_id"], "timezone": row["timezone"]}


def list_devices(conn, patient_id):
    """The patient's device tokens (never the token itself)."""
    rows = conn.execute(
        "SELECT id, device_name, created_at, last_used_at, revoked_at FROM tokens "
        "WHERE kind = 'patient' AND patient_id = ? ORDER BY id",
        (patient_id,),
    ).fetchall()
    return [dict(r) for r in rows]


def revoke_device(conn, patient_id, device_id, now):
    """Revoke one of the patient's device tokens; False when it is not theirs."""
    if not 0 < device_id < 2**63:
        return False  # beyond SQLite's integers: no such device (not an OverflowError)
    cur = conn.execute(
        "UPDATE tokens SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ? AND kind = 'patient' "
        "AND patient_id = ?",
        (to_utc_text(now), device_id, patient_id),
    )
    return cur.rowcount == 1


def update_patient(conn, patient_id, changes):
    """Apply display_name/timezone/external_ref changes to a patient."""
    for column in ("display_name", "timezone", "external_ref"):
        if column in changes:
            conn.execute(f"UPDATE patients SET {column} = ? WHERE id = ?", (changes[column], patient_id))
    return conn.execute("SELECT * FROM patients WHERE id = ?", (patient_id,)).fetchone()


# -- regimens -----------------------------------------------------------------


def add_patient(conn, clinic_id, data, now, code_days):
    """Create a patient with a first enrollment code and the default reminders, in one transaction."""
    with write(conn):
        created = create_patient(conn, clinic_id, data, now, code_days)
        schedule.ensure_default_reminders(conn, created["id"], now)
    return created


def save_regimen(conn, patient_id, data, now, saved_by=None, past_steps_changed=False):
    """Save a regimen (``put_regimen``) and move the dose reminder to its dose time, in one transaction."""
    with write(conn):
        regimen = put_regimen(conn, patient_id, data, now, saved_by, past_steps_changed)
        schedule.ensure_default_reminders(conn, patient_id, now)
    return regimen


def put_regimen(conn, patient_id, data, now, saved_by=None, past_steps_changed=False):
    """Replace a patient's regimen and its titration steps, keeping the saved version in its history.

    The report reads the current steps; ``regimen_history`` keeps every saved version
    (who, when, and whether steps that had already begun were changed).
    """
    conn.execute(
        "INSERT INTO regimens (patient_id, medication, dose_time, other_medications, updated_at) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT (patient_id) DO UPDATE SET medication = excluded.medication, "
        "dose_time = excluded.dose_time, other_medications = excluded.other_medications, "
        "updated_at = excluded.updated_at",
        (
            patient_id,
            data["medication"],
            data["dose_time"],
            json.dumps(data.get("other_medications") or []),
            to_utc_text(now),
        ),
    )
    conn.execute("DELETE FROM regimen_steps WHERE patient_id = ?", (patient_id,))
    conn.executemany(
        "INSERT INTO regimen_steps (patient_id, start_date, dose_ug) VALUES (?, ?, ?)",
        [(patient_id, s["start_date"].isoformat(), s["dose_mg"]) for s in data["steps"]],
    )
    regimen = get_regimen(conn, patient_id)
    conn.execute(
        "INSERT INTO regimen_history (patient_id, saved_at, saved_by, past_steps_changed, regimen) "
        "VALUES (?, ?, ?, ?, ?)",
        (patient_id, to_utc_text(now), saved_by, int(past_steps_changed), json.dumps(regimen)),
    )
    return regimen


def regimen_history(conn, patient_id):
    """Every saved version of a patient's regimen, newest first."""
    rows = conn.execute(
        "SELECT h.id, h.saved_at, h.past_steps_changed, h.regimen, c.name AS saved_by_name "
        "FROM regimen_history h LEFT JOIN clinicians c ON c.id = h.saved_by "
        "WHERE h.patient_id = ? ORDER BY h.id DESC",
        (patient_id,),
    ).fetchall()
    return [{**dict(r), "regimen": json.loads(r["regimen"])} for r in rows]


def get_regimen(conn, patient_id):
    """A patient's regimen as plain data (dose_ug in steps), or None."""
    row = conn.execute("SELECT * FROM regimens WHERE patient_id = ?", (patient_id,)).fetchone()
    if row is None:
        return None
    steps = conn.execute(
        "SELECT start_date, dose_ug FROM regimen_steps WHERE patient_id = ? ORDER BY start_date",
        (patient_id,),
    ).fetchall()
    return {
        "medication": row["medication"],
        "dose_time": row["dose_time"],
        "steps": [{"start_date": s["start_date"], "dose_ug": s["dose_ug"]} for s in steps],
        "other_medications": json.loads(row["other_medications"]),
        "updated_at": row["updated_at"],
    }


def clinic_main_zone(conn, clinic_id):
    """The time zone most of the clinic's patients live in, or None."""
    row = conn.execute(
        "SELECT timezone FROM patients WHERE clinic_id = ? GROUP BY timezone ORDER BY count(*) DESC, timezone "
        "LIMIT 1",
        (clinic_id,),
    ).fetchone()
    return row[0] if row else None


# -- clinicians' accounts -----------------------------------------------------

PASSWORD_LINK_HOURS = 72


def set_password(conn, clinician_id, password, now, keep_token_id=None):
    """Set a clinician's password and end every other session (all but ``keep_token_id``)."""
    if len(password) < auth.MIN_PASSWORD_LENGTH:
        raise ValueError(f"password must be at least {auth.MIN_PASSWORD_LENGTH} characters")
    conn.execute(
        "UPDATE clinicians SET password_hash = ? WHERE id = ?", (auth.hash_password(password), clinician_id)
    )
    conn.execute(
        "UPDATE tokens SET revoked_at = ? WHERE kind = 'clinician' AND clinician_id = ? "
        "AND revoked_at IS NULL AND id IS NOT ?",
        (to_utc_text(now), clinician_id, keep_token_id),
    )


def list_clinicians(conn, clinic_id):
    """The clinic's clinicians (no password hashes), by name."""
    rows = conn.execute(
        "SELECT id, email, name, is_admin, created_at, deactivated_at FROM clinicians WHERE clinic_id = ? "
        "ORDER BY deactivated_at IS NOT NULL, name, id",
        (clinic_id,),
    ).fetchall()
    return [dict(r) for r in rows]


def invite_clinician(conn, clinic_id, email, name, created_by, now):
    """Add a clinician without a usable password; return (clinician, one-time set-password token)."""
    if conn.execute("SELECT 1 FROM clinicians WHERE email = ?", (email,)).fetchone():
        raise ValueError("A clinician with that email exists.")
    cur = conn.execute(
        "INSERT INTO clinicians (clinic_id, email, name, password_hash, created_at) VALUES (?, ?, ?, ?, ?)",
        (clinic_id, email, name, "!unset", to_utc_text(now)),
    )
    token, token_hash = auth.new_token()
    conn.execute(
        "INSERT INTO password_links (token_hash, clinician_id, created_by, created_at, expires_at) "
        "VALUES (?, ?, ?, ?, ?)",
        (
            token_hash,
            cur.lastrowid,
            created_by,
            to_utc_text(now),
            to_utc_text(now + timedelta(hours=PASSWORD_LINK_HOURS)),
        ),
    )
    return {"id": cur.lastrowid, "email": email, "name": name}, token


def password_link(conn, token, now):
    """The clinician a live, unused set-password link belongs to, or None."""
    row = conn.execute(
        "SELECT l.clinician_id, l.expires_at, l.used_at, c.deactivated_at, c.email FROM password_links l "
        "JOIN clinicians c ON c.id = l.clinician_id WHERE l.token_hash = ?",
        (auth.sha256(token),),
    ).fetchone()
    if row is None or row["used_at"] or row["deactivated_at"] or parse_utc_text(row["expires_at"]) <= now:
        return None
    return dict(row)


def use_password_link(conn, token, password, now):
    """Set the password through a one-time link; False when the link is dead."""
    link = password_link(conn, token, now)
    if link is None:
        return False
    set_password(conn, link["clinician_id"], password, now)
    conn.execute(
        "UPDATE password_links SET used_at = ? WHERE token_hash = ?", (to_utc_text(now), auth.sha256(token))
    )
    return True


def deactivate_clinician(conn, clinic_id, clinician_id, now):
    """Deactivate a clinician of the clinic and revoke their tokens; False when not theirs."""
    if not 0 < clinician_id < 2**63:
        return False
    cur = conn.execute(
        "UPDATE clinicians SET deactivated_at = COALESCE(deactivated_at, ?) WHERE id = ? AND clinic_id = ?",
        (to_utc_text(now), clinician_id, clinic_id),
    )
    if cur.rowcount != 1:
        return False
    conn.execute(
        "UPDATE tokens SET revoked_at = ? WHERE kind = 'clinician' AND clinician_id = ? AND revoked_at IS NULL",
        (to_utc_text(now), clinician_id),
    )
    conn.execute(
        "UPDATE password_links SET used_at = COALESCE(used_at, ?) WHERE clinician_id = ?",
        (to_utc_text(now), clinician_id),
    )
    return True
