"""gunicorn settings (``--config python:diary.gunicorn_conf``): no raw paths or query strings in its logs.

The app writes one line per request with the route template (diary/logging_setup.py);
gunicorn's own lines would carry the raw path, whose diary dates and query are health data.
"""

# gunicorn 27 opens a control socket at one path per account ($XDG_RUNTIME_DIR/gunicorn.ctl,
# else ~/.gunicorn/gunicorn.ctl), so a second instance replaced the first one's. systemd
# (or a signal) manages the service; nothing here needs runtime control.
control_socket_disable = True

# If an access log is switched on (--access-logfile), it names method, status, size and
# time only: %(r)s, %(U)s and %(q)s would hold the raw path and the query string.
access_log_format = '%(h)s %(t)s "%(m)s" %(s)s %(B)s %(M)sms'


def pre_request(worker, req):
    """Log nothing here: gunicorn's default logs ``METHOD /raw/path`` at debug level."""
