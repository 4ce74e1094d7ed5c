"""A real push gateway on loopback: records requests, verifies signatures, answers scripted statuses."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from diary.reminders.channels import verify

SECRET = "test-webhook-secret"


class Receiver:
    """Start an HTTP server on 127.0.0.1 answering ``statuses`` in turn (then 200)."""

    def __init__(self, statuses=(), delay=0.0, on_request=None, secret=SECRET):
        self.statuses = list(statuses)
        self.delay = delay
        self.on_request = on_request
        self.secret = secret
        self.requests = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append(
                    {
                        "key": self.headers.get("Idempotency-Key"),
                        "signature_ok": verify(receiver.secret, raw, self.headers.get("X-Diary-Signature")),
                        "json": json.loads(raw),
                    }
                )
                if receiver.on_request:
                    receiver.on_request(self)
                if receiver.delay:
                    time.sleep(receiver.delay)
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/push"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def config(self, **extra):
        """Tick settings pointing at this receiver."""
        return {
            "REMINDER_GRACE_MINUTES": 120,
            "PUSH_WEBHOOK_URL": self.url,
            "PUSH_WEBHOOK_SECRET": SECRET,
            "PUSH_WEBHOOK_TIMEOUT_SECONDS": 2,
            **extra,
        }
