"""Where a page may send the browser next: same-site paths only (no open redirect)."""

import re
from urllib.parse import unquote, urlsplit

from flask import current_app
from werkzeug.exceptions import HTTPException

# RFC 3986 path and query characters, ASCII only: no whitespace or controls (browsers drop
# tabs and newlines, so "/\t/evil" becomes "//evil"), no backslash (read as "/"), no fragment.
_PATH = re.compile(r"/[A-Za-z0-9\-._~!$&'()*+,;=:@/%?]*")
_MAX_LENGTH = 2000
# Encoded variants (%2F, %252F, %5C ...): check what every decoding up to this depth would say.
_DECODE_ROUNDS = 3


def safe_next(target):
    """Return ``target`` when it is a same-site relative path, else None."""
    if not isinstance(target, str) or len(target) > _MAX_LENGTH or not _PATH.fullmatch(target):
        return None
    decoded = target
    for _ in range(_DECODE_ROUNDS):
        decoded = unquote(decoded)
        if (
            decoded.startswith("//")
            or "\\" in decoded
            or any(ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F for ch in decoded)
        ):
            return None
        parts = urlsplit(decoded)
        if parts.scheme or parts.netloc:
            return None
    return target


def get_page_of(path):
    """The nearest page at or above ``path`` that answers GET (a form's own page, else its parent).

    ``/patients/7/appointments/3/delete`` -> ``/patients/7`` when only that answers GET.
    """
    adapter = current_app.url_map.bind("")
    while path and path != "/":
        try:
            adapter.match(path, method="GET")
            return path
        except HTTPException:
            path = path.rsplit("/", 1)[0]
    return "/patients"
