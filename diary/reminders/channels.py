"""Delivery channels: the in-app outbox (the deliveries row itself), the push webhook, and the
choice of channel by the platform a patient registered (Web Push lives in ``webpush.py``)."""

import hashlib
import hmac
import http.client
import json
import urllib.error
import urllib.request
from dataclasses import dataclass

SENT, RETRY, FAILED = "sent", "retry", "failed"
# Kept short: the ledger holds errors, and a gateway's body may echo anything.
_MAX_ERROR = 200


@dataclass(frozen=True)
class Outcome:
    """What one push attempt came to: ``sent``, ``retry`` or ``failed``."""

    result: str
    http_status: int | None = None
    error: str | None = None


def payload(delivery_id, patient_id, platform, token, title, body):
    """Build the push body: ids, routing and the text, nothing about the patient's health."""
    return {
        "delivery_id": delivery_id,
        "patient_id": patient_id,
        "platform": platform,
        "token": token,
        "title": title,
        "body": body,
    }


def encode(data):
    """Serialise a payload once; the signature covers exactly these bytes."""
    return json.dumps(data, separators=(",", ":"), sort_keys=True).encode()


def signature(secret, raw):
    """Return the ``X-Diary-Signature`` header value for a raw body."""
    digest = hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify(secret, raw, header):
    """Whether ``header`` is the right signature of ``raw`` (for receivers and tests)."""
    return hmac.compare_digest(signature(secret, raw), header or "")


class Channels:
    """The push channel of each platform: the gateway webhook for ios/android, Web Push for web."""

    def __init__(self, webhook=None, webpush=None):
        self._by_platform = {"ios": webhook, "android": webhook, "web": webpush}

    def for_platform(self, platform):
        """The channel that reaches ``platform``, or None (the in-app outbox is then the delivery)."""
        return self._by_platform.get(platform)


class Webhook:
    """POST deliveries as signed JSON to the push gateway."""

    name = "webhook"

    def __init__(self, url, secret, timeout):
        self.url = url
        self.secret = secret
        self.timeout = timeout

    @classmethod
    def from_config(cls, config):
        """Return the webhook of a settings dict, or None when no URL is set."""
        url = config.get("PUSH_WEBHOOK_URL") or ""
        if not url:
            return None
        return cls(
            url,
            config.get("PUSH_WEBHOOK_SECRET") or "",
            float(config.get("PUSH_WEBHOOK_TIMEOUT_SECONDS") or 5),
        )

    def send(self, delivery_id, data):
        """POST one delivery; the delivery id is the Idempotency-Key so a resend is recognisable."""
        raw = encode(data)
        request = urllib.request.Request(
            self.url,
            data=raw,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "Idempotency-Key": delivery_id,
                "X-Diary-Signature": signature(self.secret, raw),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                status = response.status
        except urllib.error.HTTPError as exc:
            status = exc.code
            exc.close()
        except (TimeoutError, urllib.error.URLError, ConnectionError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            return Outcome(RETRY, None, f"{type(exc).__name__}: {reason}"[:_MAX_ERROR])
        except (ValueError, http.client.HTTPException) as exc:
            # A malformed URL or reply must not stop the tick; the grace window bounds retries.
            return Outcome(RETRY, None, f"{type(exc).__name__}: {exc}"[:_MAX_ERROR])
        return classify(status)


def classify(status):
    """Map an HTTP status to an outcome: 2xx sent, 4xx failed at once, else retry."""
    if 200 <= status < 300:
        return Outcome(SENT, status)
    # 408 and 429 say "later", not "never": the gateway asks us to come back.
    if 400 <= status < 500 and status not in (408, 429):
        return Outcome(FAILED, status, f"HTTP {status}")
    return Outcome(RETRY, status, f"HTTP {status}")
