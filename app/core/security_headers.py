"""Security headers on every response, set in one place (see README "Security").

- Content-Security-Policy: scripts only from this site (no inline script, no event-handler
  attributes), nothing may frame a page (`frame-ancestors 'none'`, and X-Frame-Options for old
  browsers). Inline *styles* stay allowed: a handful of templates and the printable pages use
  `style` attributes and `<style>` blocks, and Bootstrap sets styles from script; a style cannot
  run code, and every page is autoescaped, so the gain of forbidding them is small.
- X-Content-Type-Options: nosniff; Referrer-Policy: strict-origin-when-cross-origin, and
  no-referrer on pages whose URL is a secret (answer links, short links, feeds, the subscription page).
- Strict-Transport-Security only when BASE_URL is https (a plain-http intranet must keep working).
"""

from __future__ import annotations

from flask import Flask, Response, request

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "media-src 'self' blob:",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
HSTS = "max-age=31536000; includeSubDomains"

# Pages whose own URL carries a secret token: the link must not leak to other sites as a Referer.
TOKEN_ENDPOINTS = frozenset(
    {
        "invitations.rsvp",
        "problems.link_feedback",
        "shortlinks.follow",
        "feeds.feed",
        "feeds.subscribe",
        "feeds.subscribe_create",
        "feeds.subscribe_rotate",
    }
)


def add_security_headers(response: Response, *, https: bool) -> Response:
    """Set the headers on one response (views may have set a stricter Referrer-Policy)."""
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("X-Content-Type-Options", "nosniff")
    if request.endpoint in TOKEN_ENDPOINTS:
        headers["Referrer-Policy"] = "no-referrer"
    else:
        headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    if https:
        headers.setdefault("Strict-Transport-Security", HSTS)
    return response


def init_security_headers(app: Flask) -> None:
    """Add the headers to every response of the app, error pages and static files included."""
    missing = sorted(TOKEN_ENDPOINTS - set(app.view_functions))
    if missing:
        # A renamed view would silently lose its no-referrer policy: stop at start-up instead.
        raise RuntimeError(f"security headers name views that do not exist: {', '.join(missing)}")
    https = app.config["BASE_URL"].startswith("https://")
    app.after_request(lambda response: add_security_headers(response, https=https))
