"""A local HTTP server (in a thread) that stands in for Aliyun's or Tencent Cloud's SMS endpoint.

The official SDKs send to it (SMS_ENDPOINT=http://127.0.0.1:<port>); it records each request as
the provider would receive it and answers with the provider's documented bodies: success, or a
business error (HTTP 200 with a Code for Aliyun; Response.Error, or a per-number Code in
SendStatusSet, for Tencent Cloud), or an HTTP error.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

ALIYUN_REQUEST_ID = "F655A8D5-B967-440B-8683-DAD6FF8DE990"
TENCENT_REQUEST_ID = "a0aabda6-cf91-4f3e-a81f-9198114a2279"


def aliyun_ok() -> tuple[int, dict]:
    """Aliyun SendSms accepted (the documented example)."""
    return 200, {"Message": "OK", "RequestId": ALIYUN_REQUEST_ID, "Code": "OK", "BizId": "900619746936498440^0"}


def aliyun_error(code: str, message: str, status: int = 200) -> tuple[int, dict]:
    """An Aliyun error: business errors come with HTTP 200, others with 4xx/5xx."""
    body = {"Message": message, "RequestId": ALIYUN_REQUEST_ID, "Code": code}
    if status != 200:
        body |= {"HostId": "dysmsapi.aliyuncs.com", "Recommend": "https://api.aliyun.com/troubleshoot"}
    return status, body


def tencent_ok(phone: str = "+8613800138000") -> tuple[int, dict]:
    """Tencent Cloud SendSms accepted (the documented example)."""
    status = {
        "SerialNo": "5000:1045710669157053657849499619", "PhoneNumber": phone, "Fee": 1,
        "SessionContext": "", "Code": "Ok", "Message": "send success", "IsoCode": "CN",
    }
    return 200, {"Response": {"SendStatusSet": [status], "RequestId": TENCENT_REQUEST_ID}}


def tencent_number_error(code: str, message: str, phone: str = "+8613800138000") -> tuple[int, dict]:
    """The request went through, the number did not: the code is in SendStatusSet."""
    status = {
        "SerialNo": "", "PhoneNumber": phone, "Fee": 0, "SessionContext": "",
        "Code": code, "Message": message, "IsoCode": "CN",
    }
    return 200, {"Response": {"SendStatusSet": [status], "RequestId": TENCENT_REQUEST_ID}}


def tencent_error(code: str, message: str) -> tuple[int, dict]:
    """A request-level error of API 3.0: Response.Error."""
    return 200, {"Response": {"Error": {"Code": code, "Message": message}, "RequestId": TENCENT_REQUEST_ID}}


@dataclass
class Received:
    """One request as the provider got it."""

    method: str
    path: str
    headers: dict[str, str]
    query: dict[str, str]
    body: bytes
    form: dict[str, str] = field(default_factory=dict)

    @property
    def json(self) -> dict:
        """The body as JSON (Tencent Cloud's TC3 requests)."""
        return json.loads(self.body.decode())

    @property
    def params(self) -> dict[str, str]:
        """Aliyun's parameters: the query string and any form body together."""
        return {**self.query, **self.form}


class ProviderStub:
    """The stand-in server; `answers` are used in order, then the success body."""

    def __init__(self, provider: str) -> None:
        self.provider = provider
        self.received: list[Received] = []
        self.answers: list[tuple[int, dict]] = []
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        # A barrier every request waits at (with a timeout) before it is answered: lets a test
        # see whether two sends overlap.
        self.hold: threading.Barrier | None = None
        self.server: ThreadingHTTPServer | None = None
        self.thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """What SMS_ENDPOINT is set to."""
        return f"http://127.0.0.1:{self.port}"

    def _answer(self) -> tuple[int, dict]:
        if self.answers:
            return self.answers.pop(0)
        return aliyun_ok() if self.provider == "aliyun" else tencent_ok()

    def start(self) -> None:
        """Listen (again) on the same port."""
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output quiet
                pass

            def do_POST(self):  # noqa: N802 - http.server's hook name
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                parts = urlsplit(self.path)
                form = {}
                if "x-www-form-urlencoded" in (self.headers.get("Content-Type") or ""):
                    form = {k: v[0] for k, v in parse_qs(body.decode(), keep_blank_values=True).items()}
                stub.received.append(Received(
                    "POST", parts.path, {k.lower(): v for k, v in self.headers.items()},
                    {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}, body, form,
                ))
                if stub.hold is not None:
                    with contextlib.suppress(threading.BrokenBarrierError):
                        stub.hold.wait()
                status, payload = stub._answer()
                data = json.dumps(payload, ensure_ascii=False).encode()
                self.send_response(status)
                # Exactly the providers' content types (Tencent's SDK reads errors only from this one).
                kind = "application/json;charset=utf-8" if stub.provider == "aliyun" else "application/json"
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        ThreadingHTTPServer.allow_reuse_address = True
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        """Stop listening: the provider is down (connections refused)."""
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None
