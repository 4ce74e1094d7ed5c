"""Web Push: the server's VAPID key pair and the channel that sends reminders to browsers.

Messages are encrypted for the browser's subscription keys (RFC 8291, aes128gcm)
and signed with our VAPID key (RFC 8292) by pywebpush. The key pair is created
once, on first need, and kept in the database: every subscription a browser
made is bound to its public key, so it must never change behind their back.
"""

import base64
import binascii
import json

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from diary import db as dbmod
from diary.clock import to_utc_text
from diary.reminders.channels import FAILED, RETRY, Outcome, classify

# A subscription's endpoint is a URL we POST to from the scheduler; keep it bounded.
MAX_ENDPOINT = 1024


def b64url(raw):
    """Encode bytes as unpadded base64url, the encoding of every Web Push key."""
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def unb64url(text):
    """Decode unpadded (or padded) base64url text; ValueError when it is not."""
    if not isinstance(text, str):
        raise ValueError("not a string")
    try:
        return base64.urlsafe_b64decode(text.encode("ascii") + b"=" * (-len(text) % 4))
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise ValueError("not base64url") from exc


def check_p256dh(text):
    """Raise ValueError unless ``text`` is a base64url P-256 public key point (65 bytes, uncompressed)."""
    raw = unb64url(text)
    if len(raw) != 65 or raw[0] != 4:
        raise ValueError("not an uncompressed P-256 point")
    ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)


def check_auth_secret(text):
    """Raise ValueError unless ``text`` is a base64url 16-byte authentication secret."""
    if len(unb64url(text)) != 16:
        raise ValueError("not 16 bytes")


def subscription_token(subscription):
    """The stored form of a browser subscription: canonical JSON of endpoint and keys."""
    return json.dumps(
        {
            "endpoint": subscription["endpoint"],
            "keys": {"p256dh": subscription["keys"]["p256dh"], "auth": subscription["keys"]["auth"]},
        },
        separators=(",", ":"),
        sort_keys=True,
    )


# -- the key pair ---------------------------------------------------------------


def _new_key_pair():
    key = ec.generate_private_key(ec.SECP256R1())
    private = key.private_numbers().private_value.to_bytes(32, "big")
    public = key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return b64url(private), b64url(public)


def load_keys(conn):
    """The stored key pair as a dict ``{private_key, public_key, created_at}``, or None."""
    row = conn.execute("SELECT private_key, public_key, created_at FROM vapid_keys WHERE id = 1").fetchone()
    return dict(row) if row is not None else None


def ensure_keys(conn, now):
    """Return the key pair, creating it once; two racing creators end with the same pair."""
    keys = load_keys(conn)
    if keys is not None:
        return keys, False
    private, public = _new_key_pair()
    with dbmod.write(conn):
        created = conn.execute(
            "INSERT INTO vapid_keys (id, private_key, public_key, created_at) VALUES (1, ?, ?, ?)"
            " ON CONFLICT (id) DO NOTHING",
            (private, public, to_utc_text(now)),
        ).rowcount
    return load_keys(conn), bool(created)


# -- the channel ----------------------------------------------------------------


def message(delivery_id, title, body):
    """The decrypted push message: the delivery id (the notification's tag) and the reminder text."""
    return json.dumps(
        {"delivery_id": delivery_id, "title": title, "body": body}, separators=(",", ":"), sort_keys=True
    )


class WebPush:
    """Send deliveries to browser push services, VAPID-signed and encrypted for the subscription."""

    name = "webpush"

    def __init__(self, key_loader, contact, timeout, ttl):
        self._key_loader = key_loader
        self._vapid = None
        self.contact = contact
        self.timeout = timeout
        self.ttl = ttl

    @classmethod
    def from_config(cls, config, conn, now):
        """The channel of a settings dict; the key pair is read (or made) on the first send."""
        return cls(
            lambda: ensure_keys(conn, now)[0]["private_key"],
            config.get("WEB_PUSH_CONTACT") or "",
            float(config.get("PUSH_WEBHOOK_TIMEOUT_SECONDS") or 5),
            # A reminder is worth delivering until its grace window closes, no longer.
            int(config.get("REMINDER_GRACE_MINUTES", 120)) * 60,
        )

    def _signer(self):
        from py_vapid import Vapid

        if self._vapid is None:
            self._vapid = Vapid.from_string(self._key_loader())
        return self._vapid

    def send(self, delivery_id, data):
        """Encrypt and POST one delivery to the subscription in ``data["token"]``."""
        # Imported here: pywebpush brings aiohttp (0.2 s), which web workers never need.
        import requests
        from py_vapid import VapidException
        from pywebpush import WebPushException, webpush

        try:
            subscription = json.loads(data["token"])
            vapid = self._signer()
        except (ValueError, TypeError) as exc:
            return Outcome(FAILED, None, f"bad subscription or key: {type(exc).__name__}")
        headers = {
            # Same id, same topic: a resend replaces a message the push service still holds.
            "Topic": delivery_id.replace("-", ""),
            "Urgency": "high",
        }
        try:
            response = webpush(
                subscription,
                data=message(delivery_id, data["title"], data["body"]),
                vapid_private_key=vapid,
                # A fresh dict each time: webpush() writes aud and exp into it.
                vapid_claims={"sub": self.contact},
                timeout=self.timeout,
                ttl=self.ttl,
                headers=headers,
            )
        except WebPushException as exc:
            if exc.response is not None:
                return classify(exc.response.status_code)
            return Outcome(FAILED, None, "WebPushException")
        except VapidException:
            # Our own settings (WEB_PUSH_CONTACT): retrying will not help.
            return Outcome(FAILED, None, "VAPID claims refused; check DIARY_WEB_PUSH_CONTACT")
        except requests.RequestException as exc:
            # The type only: requests' messages repeat the endpoint, a capability URL.
            return Outcome(RETRY, None, type(exc).__name__)
        return classify(response.status_code)
