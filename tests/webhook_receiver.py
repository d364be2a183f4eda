"""A webhook receiver for the tests: a real HTTP server in a thread that checks deliveries as the
README tells integrators to (Standard Webhooks: HMAC-SHA256 over "{id}.{timestamp}.{body}", a
5-minute tolerance on the timestamp) and keeps each delivery id once.

Its clock is injected (`now`), like the dispatcher's, so the tolerance is tested without waiting.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOLERANCE_SECONDS = 5 * 60


class InvalidDelivery(Exception):
    """The delivery is not signed with the secret, or too old (a replay) or too new."""


def verify(secret: str, headers, body: bytes, now: int, tolerance: int = TOLERANCE_SECONDS) -> dict:
    """The README's verification: the signature over id, timestamp and body, then the tolerance."""
    msg_id = headers["webhook-id"]
    timestamp = headers["webhook-timestamp"]
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{msg_id}.{timestamp}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    offered = [part.split(",", 1)[1] for part in headers["webhook-signature"].split() if part.startswith("v1,")]
    if not any(hmac.compare_digest(expected, signature) for signature in offered):
        raise InvalidDelivery("bad signature")
    if abs(now - int(timestamp)) > tolerance:
        raise InvalidDelivery("timestamp outside the tolerance")
    return json.loads(body)


@dataclass
class Request:
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """Keeps verified events by webhook-id (a repeated id is acknowledged and dropped)."""

    secret: str
    now: datetime
    status: int = 204
    extra_headers: dict[str, str] = field(default_factory=dict)
    # Set: the handler waits for it before answering (a receiver that hangs).
    hold: threading.Event | None = None
    events: dict[str, dict] = field(default_factory=dict)
    duplicates: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)
    port: int = 0
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/linghang"

    def handle(self, headers: dict[str, str], body: bytes) -> int:
        self.requests.append(Request(headers, body))
        try:
            payload = verify(self.secret, headers, body, int(self.now.timestamp()))
        except (InvalidDelivery, KeyError, ValueError) as error:
            self.rejected.append(str(error))
            return 400
        if self.status // 100 != 2:
            return self.status
        if headers["webhook-id"] in self.events:
            self.duplicates.append(headers["webhook-id"])
        else:
            self.events[headers["webhook-id"]] = payload
        return self.status

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if receiver.hold is not None:
                    receiver.hold.wait(30)
                status = receiver.handle({k.lower(): v for k, v in self.headers.items()}, body)
                self.send_response(status)
                for name, value in receiver.extra_headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        # The same port on a restart, as a receiver coming back would have.
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def post(self, request: Request) -> int:
        """Send a captured delivery again (a replay), as an attacker who saw it would."""
        import urllib.error
        import urllib.request

        try:
            with urllib.request.urlopen(
                urllib.request.Request(self.url, data=request.body, headers=request.headers, method="POST"), timeout=5
            ) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code
