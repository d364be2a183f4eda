"""Where a redirect may lead: only back into this site."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from flask import url_for

# A path on this site: one leading slash, then no slash or backslash (browsers read "/\\x" and
# "//x" as another host), and no whitespace or control character anywhere (browsers drop tabs
# and newlines, so "/\t/x" would become "//x").
LOCAL_PATH = re.compile(r"/(?![/\\])[^\\\s\x00-\x1f\x7f]*")


def safe_next(target: str | None) -> str:
    """Only follow redirects to a path on this site; anything else goes to the home page."""
    if target and LOCAL_PATH.fullmatch(target):
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
            return target
    return url_for("main.home")
