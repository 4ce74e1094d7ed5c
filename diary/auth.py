"""Password hashing, tokens, enrollment codes, the current user and role checks."""

import hashlib
import hmac
import secrets
from datetime import timedelta

from flask import current_app, g, request

from diary import db as dbmod
from diary.clock import parse_utc_text, to_utc_text, utcnow
from diary.errors import abort

# OWASP Password Storage Cheat Sheet: scrypt N=2^17, r=8, p=1.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**17, 8, 1
SCRYPT_MAXMEM = 256 * 1024 * 1024
MIN_PASSWORD_LENGTH = 12
# Crockford base32 without look-alikes; 12 characters carry 60 bits.
CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 12
# last_used_at is refreshed at most this often, so reads stay reads; never less often
# than a quarter of the idle window, or a short window would end sessions in use.
TOKEN_TOUCH_SECONDS = 60


def hash_password(password):
    """Hash a password with scrypt and a random salt."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(
        password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, maxmem=SCRYPT_MAXMEM, dklen=32
    )
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${salt.hex()}${digest.hex()}"


def verify_password(password, stored):
    """Check a password against a stored scrypt hash in constant time."""
    try:
        _, n, r, p, salt, digest = stored.split("$")
        candidate = hashlib.scrypt(
            password.encode(),
            salt=bytes.fromhex(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            maxmem=SCRYPT_MAXMEM,
            dklen=32,
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(candidate.hex(), digest)


# A hash to verify against when the account does not exist, so a missing
# email costs the same time as a wrong password.
_DUMMY_HASH = None


def dummy_verify(password):
    """Spend the time of one verification against a throwaway hash."""
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = hash_password("not-a-real-password-" + secrets.token_hex(8))
    verify_password(password, _DUMMY_HASH)


def new_token():
    """Return a fresh bearer token (256 random bits) and its stored SHA-256 hash."""
    token = secrets.token_urlsafe(32)
    return token, sha256(token)


def sha256(text):
    """Hex SHA-256 of a text."""
    return hashlib.sha256(text.encode()).hexdigest()


def new_enrollment_code():
    """Return a fresh one-time enrollment code shown as XXXX-XXXX-XXXX."""
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    return "-".join(raw[i : i + 4] for i in range(0, CODE_LENGTH, 4))


def normalize_code(code):
    """Normalise a typed enrollment code (case, dashes, spaces, look-alikes)."""
    code = code.upper().replace("-", "").replace(" ", "")
    return code.translate(str.maketrans({"O": "0", "I": "1", "L": "1"}))


def code_hash(code):
    """Stored hash of an enrollment code."""
    return sha256(normalize_code(code))


def app_conn():
    """The kept connection of this thread to the app's database."""
    return dbmod.get_conn(current_app.config["DATABASE"])


def bearer_token():
    """The bearer token of this request, or None."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def token_row_is_live(row, now, idle_minutes):
    """Whether a token row may still be used at ``now`` (pure rule)."""
    if row["revoked_at"] is not None:
        return False
    if row["expires_at"] is not None and parse_utc_text(row["expires_at"]) <= now:
        return False
    if row["kind"] == "clinician" and idle_minutes:
        last = parse_utc_text(row["last_used_at"] or row["created_at"])
        if now - last > timedelta(minutes=idle_minutes):
            return False
    return True


def touch_interval_seconds(idle_minutes):
    """Seconds between refreshes of a token's last_used_at for an idle window (pure rule)."""
    if not idle_minutes:
        return TOKEN_TOUCH_SECONDS
    return min(TOKEN_TOUCH_SECONDS, idle_minutes * 60 / 4)


def current_token():
    """Look up the live token row of this request's bearer token (cached on g), or None."""
    if "token_row" in g:
        return g.token_row
    token = bearer_token()
    g.token_row = None if token is None else live_token(token)
    return g.token_row


def live_token(token):
    """The live row of a bearer or web-session token, marked as used now; None when dead."""
    conn = app_conn()
    row = conn.execute("SELECT * FROM tokens WHERE token_hash = ?", (sha256(token),)).fetchone()
    now = utcnow()
    idle_minutes = current_app.config["CLINICIAN_IDLE_MINUTES"]
    if row is None or not token_row_is_live(row, now, idle_minutes):
        return None
    last = parse_utc_text(row["last_used_at"] or row["created_at"])
    if (now - last).total_seconds() > touch_interval_seconds(idle_minutes):
        conn.execute("UPDATE tokens SET last_used_at = ? WHERE id = ?", (to_utc_text(now), row["id"]))
    return row


def _unauthorized():
    abort(401, "A valid bearer token is required.", headers={"WWW-Authenticate": 'Bearer realm="diary"'})


def require_patient():
    """Return the patient of a device token, or stop with 401."""
    row = current_token()
    if row is None or row["kind"] != "patient":
        _unauthorized()
    if "patient" not in g:
        patient = app_conn().execute("SELECT * FROM patients WHERE id = ?", (row["patient_id"],)).fetchone()
        if patient is None:
            _unauthorized()
        g.patient = dict(patient)
    return g.patient


def require_clinician():
    """Return the clinician of a clinician token, or stop with 401."""
    row = current_token()
    if row is None or row["kind"] != "clinician":
        _unauthorized()
    if "clinician" not in g:
        clinician = (
            app_conn().execute("SELECT * FROM clinicians WHERE id = ?", (row["clinician_id"],)).fetchone()
        )
        if clinician is None:
            _unauthorized()
        g.clinician = dict(clinician)
    return g.clinician
