"""Default settings. Every key can be overridden by a ``DIARY_<KEY>`` environment
variable; each key is documented in README.md (a test checks this)."""

# Path of the SQLite database file.
DATABASE = "instance/diary.sqlite3"
# Signs the clinician web session cookie. With PRODUCTION on, the service refuses to start
# while this is the default or shorter than 32 bytes.
SECRET_KEY = "dev-only-change-me"
# Lifetime of a clinician API token and web session, in hours, from login.
CLINICIAN_TOKEN_HOURS = 12
# A clinician token unused for this many minutes stops working.
CLINICIAN_IDLE_MINUTES = 30
# Days an enrollment code stays valid.
ENROLLMENT_CODE_DAYS = 7
# Largest request body accepted, in bytes (larger -> 413).
MAX_CONTENT_LENGTH = 1048576
# Most items in one /me/sync batch (more -> 422).
SYNC_MAX_ITEMS = 500
# A reminder this many minutes late (scheduler was down) is recorded expired, not sent.
REMINDER_GRACE_MINUTES = 120
# Seconds between scheduler ticks.
SCHEDULER_TICK_SECONDS = 30
# Push gateway that receives reminder deliveries as signed JSON; empty = in-app outbox only.
PUSH_WEBHOOK_URL = ""
# HMAC-SHA256 secret for the push gateway's X-Diary-Signature header.
PUSH_WEBHOOK_SECRET = ""
# Seconds before a push request (gateway webhook or Web Push) times out.
PUSH_WEBHOOK_TIMEOUT_SECONDS = 5
# Contact that browser push services may write to about our Web Push traffic (the VAPID
# "sub" claim): a mailto: address or https URL of whoever runs this service.
WEB_PUSH_CONTACT = "mailto:admin@example.org"
# Days after each dose step change left out of per-level report figures (effects lag).
REPORT_LAG_DAYS = 3
# Log level of the service and scheduler.
LOG_LEVEL = "INFO"
# Production mode: session cookies are marked Secure; a weak SECRET_KEY refuses to start.
PRODUCTION = False
# Failed clinician logins per account (email) within LOGIN_WINDOW_MINUTES before 429.
LOGIN_MAX_FAILURES = 5
# Failed clinician logins per client address within LOGIN_WINDOW_MINUTES before 429.
LOGIN_MAX_FAILURES_PER_ADDRESS = 20
# Sliding window, in minutes, of the login failure counts.
LOGIN_WINDOW_MINUTES = 15
# Failed enrollments (unknown, used or expired code) per client address within ENROLL_WINDOW_MINUTES before 429.
ENROLL_MAX_FAILURES = 10
# Failed enrollments from all addresses together within ENROLL_WINDOW_MINUTES before 429 (distributed guessing).
ENROLL_MAX_FAILURES_GLOBAL = 300
# Sliding window, in minutes, of the enrollment failure counts.
ENROLL_WINDOW_MINUTES = 15
# Reverse proxies in front of the service that set X-Forwarded-For/-Proto (0: trust none;
# the client address is the TCP peer). Set it to the number of proxies behind which we run.
TRUSTED_PROXIES = 0
# Comma-separated browser origins allowed to call the API cross-origin (empty: CORS off).
CORS_ORIGINS = ""
# Base URL patients' phones reach the service at, for the enrollment QR code and sheet
# (e.g. https://diary.example.org); empty means the base URL of the clinician's request.
PUBLIC_URL = ""
