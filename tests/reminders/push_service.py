"""A browser push service on loopback: HTTPS, holds one subscription's keys, decrypts what arrives.

It plays both sides a real push service joins: the subscription (a P-256 key
pair and a 16-byte auth secret, as a browser makes them) and the HTTPS endpoint
our scheduler POSTs to. Every message is decrypted with ``http_ece``
(RFC 8291, aes128gcm) and its VAPID ``Authorization`` header checked (RFC 8292).
"""

import base64
import datetime
import ipaddress
import json
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import http_ece
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from py_vapid import Vapid02


def b64url(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def unb64url(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def write_loopback_certificate(directory):
    """A self-signed certificate for 127.0.0.1; returns (cert_path, key_path)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "loopback push service")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()), False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "push-service.pem", directory / "push-service.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return str(cert_path), str(key_path)


def vapid_claims(authorization):
    """The JWT claims of a ``vapid t=...,k=...`` header, after checking its signature; and k."""
    assert Vapid02.verify(authorization), "VAPID signature does not verify"
    parts = dict(p.split("=", 1) for p in authorization.split(" ", 1)[1].split(","))
    payload = parts["t"].split(".")[1]
    return json.loads(unb64url(payload)), parts["k"]


class PushService:
    """HTTPS on 127.0.0.1 answering ``statuses`` in turn (then 201), decrypting every message."""

    def __init__(self, cert, statuses=(), delay=0.0):
        self.statuses = list(statuses)
        self.delay = delay
        self.requests = []
        # The browser's side of the subscription.
        self.receiver_key = ec.generate_private_key(ec.SECP256R1())
        self.auth_secret = bytes(range(16))
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                record = {
                    "path": self.path,
                    "headers": {k.lower(): v for k, v in self.headers.items()},
                    "raw": raw,
                }
                try:
                    record["message"] = json.loads(
                        http_ece.decrypt(
                            raw,
                            private_key=service.receiver_key,
                            auth_secret=service.auth_secret,
                            version=self.headers.get("Content-Encoding"),
                        )
                    )
                except Exception as exc:  # recorded for the test to see
                    record["error"] = repr(exc)
                service.requests.append(record)
                if service.delay:
                    time.sleep(service.delay)
                status = service.statuses.pop(0) if service.statuses else 201
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(*cert)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.origin = f"https://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def subscription(self, name="sub-1"):
        """The subscription a browser would hand the app: ``PushSubscription.toJSON()``."""
        public = self.receiver_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return {
            "endpoint": f"{self.origin}/push/{name}",
            "expirationTime": None,
            "keys": {"p256dh": b64url(public), "auth": b64url(self.auth_secret)},
        }
