"""A Flask app served on a loopback port in a thread, for tests that need a real HTTP server."""

import contextlib
import threading

from werkzeug.serving import make_server


@contextlib.contextmanager
def serve(app):
    """Serve a Flask app on a loopback port in a thread; yield its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)
